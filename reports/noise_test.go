package reports

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/soak-dev/soak/record"
)

func TestPhaseCycles(t *testing.T) {
	t.Parallel()
	ph := func(name, base string, cycle int) record.PhaseMeta {
		return record.PhaseMeta{Name: name, Base: base, Cycle: cycle}
	}
	for _, tc := range []struct {
		name   string
		phases []record.PhaseMeta
		want   []int
		n      int
	}{
		{"recorded: cycles 2, repeat 4", []record.PhaseMeta{ph("load", "load", 1), ph("hold", "hold", 1), ph("hold#2", "hold", 1),
			ph("hold#3", "hold", 1), ph("hold#4", "hold", 1), ph("load#2", "load", 2), ph("hold#5", "hold", 2), ph("hold#6", "hold", 2),
			ph("hold#7", "hold", 2), ph("hold#8", "hold", 2)}, []int{1, 1, 1, 1, 1, 2, 2, 2, 2, 2}, 2},
		{"inferred from an old run: the first phase comes back", []record.PhaseMeta{ph("load", "", 0), ph("hold", "", 0), ph("hold#2", "", 0),
			ph("load#2", "", 0), ph("hold#3", "", 0), ph("hold#4", "", 0)}, []int{1, 1, 1, 2, 2, 2}, 2},
		{"inferred: the first phase repeated, then another", []record.PhaseMeta{ph("warm", "warm", 0), ph("warm#2", "warm", 0),
			ph("rest", "rest", 0), ph("warm#3", "warm", 0), ph("warm#4", "warm", 0), ph("rest#2", "rest", 0)}, []int{1, 1, 1, 2, 2, 2}, 2},
		{"one phase kind only: repeats are not cycles", []record.PhaseMeta{ph("hold", "", 0), ph("hold#2", "", 0), ph("hold#3", "", 0)},
			[]int{1, 1, 1}, 1},
		{"no phases", nil, []int{}, 0},
	} {
		got, n := phaseCycles(tc.phases)
		if n != tc.n || len(got) != len(tc.want) {
			t.Errorf("%s: %v, %d cycles; want %v, %d", tc.name, got, n, tc.want, tc.n)
			continue
		}
		for i := range got {
			if got[i] != tc.want[i] {
				t.Errorf("%s: %v; want %v", tc.name, got, tc.want)
				break
			}
		}
	}
}

// TestNoiseLikeWithLike is the case of issue 17: phases repeated within
// cycles (cycles 2, repeat 4) and a layer idle only in some phases. The
// run reports 2 cycles, and the idle age of a layer that is 0 outside its
// hold has a spread near 0, not one as large as the figure itself.
func TestNoiseLikeWithLike(t *testing.T) {
	t.Parallel()
	sy := defaultSynth()
	sy.phases = []synthPhase{
		{name: "load", kind: "steady", dur: 8 * time.Second, rate: 100},
		{name: "hold", kind: "idle", dur: 5 * time.Second, repeat: 4},
	}
	sy.cycles, sy.wobble = 2, 0
	s, err := Summarize(sy.write(t, filepath.Join(t.TempDir(), "run")))
	if err != nil {
		t.Fatal(err)
	}
	if s.Cycles != 2 {
		t.Errorf("cycles = %d, want 2 (cycles: 2 with repeat: 4)", s.Cycles)
	}
	for _, f := range []string{"client.max_idle", "backend.max_idle", "goroutines.peak"} {
		v, sp := s.Figures[f], s.Spread[f]
		if _, ok := s.Spread[f]; !ok || sp > 0.25*v {
			t.Errorf("%s = %v with spread %v (present %v); want a spread well under the figure", f, v, sp, ok)
		}
	}

	one := defaultSynth()
	one.cycles = 1
	s1, err := Summarize(one.write(t, filepath.Join(t.TempDir(), "one")))
	if err != nil {
		t.Fatal(err)
	}
	if s1.Cycles != 1 || len(s1.Spread) != 0 {
		t.Errorf("one cycle with repeats: cycles = %d, spread = %v; want 1 and none", s1.Cycles, s1.Spread)
	}
	r := Row{Figure: "goroutines.peak", A: 1, B: 3, Change: 2}
	noiseOf(&r, s1, s)
	if r.HasNoise || r.NoNoise == "" {
		t.Errorf("one run of one cycle: %+v; want no noise estimate, saying why", r)
	}
}

// TestIssue17MaxIdle is issue 17's case: a 2-cycle scenario whose load
// phase repeats 4 times and whose client layer is idle only in the hold.
// Build A reclaims after 10 s, build B after 29.5 s. Numbering cycles by
// "name#N" made 8 cycles, 6 of them load only with an idle age of 0, so the
// spread was as large as the figure and +5s did not trip.
func TestIssue17MaxIdle(t *testing.T) {
	t.Parallel()
	mk := func(timeoutMs int64) *Summary {
		sy := defaultSynth()
		sy.layers = map[string]record.LayerMeta{"client": {Node: "proxy", IdleTimeoutMs: timeoutMs}}
		sy.phases = []synthPhase{
			{name: "load", kind: "steady", dur: 5 * time.Second, repeat: 4, rate: 50},
			{name: "hold", kind: "idle", dur: 32 * time.Second},
		}
		sy.cycles, sy.wobble, sy.idleOnlyIn = 2, 0, "hold"
		s, err := Summarize(sy.write(t, filepath.Join(t.TempDir(), "run")))
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	a, b := mk(10000), mk(29500)
	if a.Cycles != 2 || b.Cycles != 2 {
		t.Fatalf("cycles %d and %d, want 2 and 2", a.Cycles, b.Cycles)
	}
	r, err := ParseRule("client.max_idle:+5s")
	if err != nil {
		t.Fatal(err)
	}
	c := &Comparison{A: a, B: b, Rows: compareRows(a, b)}
	res, err := evalRule(r, c)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Tripped {
		t.Errorf("10 s vs 29.5 s with +5s: not tripped: %s", res.Message)
	}
	t.Log(res.Message)
}
