package checks

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/soak-dev/soak/record"
	"github.com/soak-dev/soak/scenarios"
	"github.com/soak-dev/soak/series"
)

// soakValue models a busy layer at 1 s sampling: a sawtooth of connections
// (opened under load, closed by a 7 s idle-timeout cycle, amplitude 10),
// ±2 of noise, and a leak of perMin connections per minute.
func soakValue(sec, perMin float64, rng *rand.Rand) float64 {
	saw := 10 * math.Mod(sec, 7) / 7
	return math.Round(20 + saw + perMin*sec/60 + float64(rng.IntN(5)-2))
}

func TestNoGrowth(t *testing.T) {
	for _, tc := range []struct {
		name    string
		minutes float64
		perMin  float64
		source  string
		want    string
	}{
		{"sawtooth, no trend", 30, 0, record.SourcePprof, record.StatusPass},
		{"sawtooth + 1 conn/min", 30, 1, record.SourcePprof, record.StatusFail},
		{"too short", 0.5, 1, record.SourcePprof, record.StatusInconclusive},
		{"not a Go process", 30, 1, record.SourceThreads, record.StatusInconclusive},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			rng := rand.New(rand.NewPCG(1, 2))
			end := tc.minutes * 60
			f.phase("soak", "soak", "steady", 0, end)
			for sec := 0.0; sec <= end; sec++ {
				v := soakValue(sec, tc.perMin, rng)
				f.sample("target", sec, func(s *record.Sample) {
					s.Goroutines = &record.Goroutines{Total: int(2 * v), Source: tc.source}
				})
			}
			c := onlyCheck(t, f.evaluate(&scenarios.Expectation{NoGrowth: &scenarios.NoGrowthCheck{Series: "goroutines", Node: "target", During: []string{"soak"}}}))
			if c.Status != tc.want {
				t.Fatalf("got %s: %s\n%v", c.Status, c.Message, c.Details)
			}
			// Under an hour, a pass says the change it saw, not a rate per hour.
			if tc.want == record.StatusPass && (strings.Contains(c.Message, "/h") || !strings.Contains(c.Message, "m0s, Mann-Kendall")) {
				t.Errorf("a 30-minute pass should give the change it saw, not a slope per hour: %s", c.Message)
			}
			if tc.want == record.StatusFail && (math.Abs(c.Value-120) > 25 || !strings.Contains(c.Message, "goroutines on node target grew")) {
				t.Errorf("slope %v/h, want about 120/h (2 goroutines x 60 conns/h): %s", c.Value, c.Message)
			}
		})
	}
}

// TestNoGrowthCycles judges the value at the end of each quiet phase: the
// healthy run drops back each cycle, the leaky one keeps one more fd.
func TestNoGrowthCycles(t *testing.T) {
	for _, tc := range []struct {
		name   string
		leak   int
		cycles int
		want   string
	}{
		{"healthy", 0, 8, record.StatusPass},
		{"one fd per cycle", 1, 8, record.StatusFail},
		{"too few cycles", 1, 4, record.StatusInconclusive},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			for c := 0; c < tc.cycles; c++ {
				off := float64(c * 20)
				suffix := ""
				if c > 0 {
					suffix = "#" + string(rune('1'+c))
				}
				f.phase("load"+suffix, "load", "steady", off, off+10)
				f.phase("rest"+suffix, "rest", "quiet", off+10, off+20)
				for s := 0.0; s < 20; s++ {
					v := 12 + c*tc.leak
					if s < 12 {
						v += 40 // under load and until the idle timeout
					}
					f.sample("target", off+s, func(smp *record.Sample) { smp.FDs = &record.FDs{Total: v} })
				}
			}
			c := onlyCheck(t, f.evaluate(&scenarios.Expectation{NoGrowth: &scenarios.NoGrowthCheck{Series: "fds", Node: "target", During: []string{"load", "rest"}}}))
			if c.Status != tc.want {
				t.Fatalf("got %s: %s\n%v", c.Status, c.Message, c.Details)
			}
			if tc.cycles >= GrowthMinPoints && !strings.Contains(strings.Join(c.Details, " "), "one point per run of rest") {
				t.Errorf("details %v: want the quiet phase's ends", c.Details)
			}
		})
	}
}

// TestTimeToDetect measures how many minutes of 1 s samples no_growth needs
// to flag a leak of one connection per minute under a sawtooth with noise,
// and that it never flags the same series without the leak.
func TestTimeToDetect(t *testing.T) {
	t.Parallel()
	detect := func(perMin float64, seed uint64) (minutes int) {
		rng := rand.New(rand.NewPCG(seed, 7))
		var compacted []sample // each minute compacted once: the test was quadratic in its own setup
		meta := record.Meta{Start: t0, IntervalMs: 1000, Layers: map[string]record.LayerMeta{"backend": {Node: "target", IdleTimeoutMs: 2000}}}
		for m := 1; m <= 60; m++ {
			var minute []record.Sample
			for sec := float64((m - 1) * 60); sec < float64(m*60); sec++ {
				v := soakValue(sec, perMin, rng)
				minute = append(minute, record.Sample{Time: at(sec), Node: "target", Sockets: layerSockets("backend", int(v), 0)})
			}
			compacted = append(compacted, series.CompactAll(minute)...)
			meta.Phases = []record.PhaseMeta{{Name: "soak", Base: "soak", Kind: "steady", Start: t0, End: at(float64(m * 60))}}
			d := &runData{meta: meta, samples: map[string][]sample{"target": compacted}, interval: time.Second}
			rs := noGrowth(d, &scenarios.NoGrowthCheck{Series: "sockets.backend", During: []string{"soak"}})
			if rs[0].Status == record.StatusFail {
				return m
			}
		}
		return 0
	}
	var found []int
	for seed := uint64(1); seed <= 3; seed++ {
		m := detect(1, seed)
		if m == 0 {
			t.Errorf("seed %d: a leak of 1 conn/min not flagged within 60 minutes", seed)
		}
		found = append(found, m)
		if fa := detect(0, seed); fa != 0 {
			t.Errorf("seed %d: a healthy series flagged after %d minutes", seed, fa)
		}
	}
	t.Logf("1 conn/min leak under a ±5 sawtooth with ±2 noise flagged after %v minutes of soak (seeds 1..3)", found)
}
