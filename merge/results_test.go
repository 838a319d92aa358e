package merge

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/soak-dev/soak/record"
)

// shardLoad is one shard's results of phase hold: latencies of targets A
// and B (and of results the load placed under no target).
type shardLoad struct{ a, b, none []time.Duration }

// writeLoad replaces the shard's phase result with one of targets A and B
// whose results file and target indexes hold l, the targets' latencies
// the shard's own (as the load computes them), and returns its results.
func (l shardLoad) writeLoad(t *testing.T, dir string) (a, b []vegeta.Result) {
	t.Helper()
	gob, err := os.Create(filepath.Join(dir, record.PhaseFile("hold", ".results.gob")))
	if err != nil {
		t.Fatal(err)
	}
	idx, err := os.Create(filepath.Join(dir, record.PhaseFile("hold", record.TargetIndexesSuffix)))
	if err != nil {
		t.Fatal(err)
	}
	enc := vegeta.NewEncoder(gob)
	var ms [2]vegeta.Metrics
	n := 0
	for ti, lats := range [][]time.Duration{l.a, l.b, l.none} {
		for _, lat := range lats {
			r := vegeta.Result{Attack: "hold", Code: 200, Timestamp: t0.Add(time.Duration(n) * time.Millisecond), Latency: lat,
				Method: "GET", URL: "http://127.0.0.1:1/x"}
			n++
			if err := enc.Encode(&r); err != nil {
				t.Fatal(err)
			}
			ix := uint64(ti + 1)
			switch ti {
			case 0:
				a = append(a, r)
			case 1:
				b = append(b, r)
			default:
				ix = 0 // under no target
			}
			if ix > 0 {
				ms[ti].Add(&r)
			}
			idx.Write(binary.AppendUvarint(nil, ix))
		}
	}
	gob.Close()
	idx.Close()
	var targets []record.TargetResult
	for i, name := range []string{"GET /a", "GET /b"} {
		ms[i].Close()
		targets = append(targets, record.TargetResult{Target: name, Requests: ms[i].Requests, OK: ms[i].Requests,
			LatencyP50: ms2(ms[i].Latencies.P50), LatencyP90: ms2(ms[i].Latencies.P90),
			LatencyP99: ms2(ms[i].Latencies.P99), LatencyMax: ms2(ms[i].Latencies.Max)})
	}
	if err := record.WritePhaseResult(dir, record.PhaseResult{Phase: "hold", Kind: "steady", Start: t0, End: t0.Add(time.Second),
		Requests: uint64(n), Success: 1, StatusCodes: map[string]int{"200": n}, Targets: targets,
		VegetaResults: record.PhaseFile("hold", ".results.gob"), TargetIndexes: record.PhaseFile("hold", record.TargetIndexesSuffix)}); err != nil {
		t.Fatal(err)
	}
	return a, b
}

func metrics(parts ...[]vegeta.Result) *vegeta.Metrics {
	var m vegeta.Metrics
	for _, rs := range parts {
		for i := range rs {
			m.Add(&rs[i])
		}
	}
	m.Close()
	return &m
}

func ms2(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func lats(n int, base time.Duration) []time.Duration {
	var out []time.Duration
	for i := range n {
		out = append(out, base+time.Duration(i)*time.Microsecond)
	}
	return out
}

// TestMergeTargetLatencies: target A is fast on shard 1 (50 results) and
// slow on shard 2 (10); the merged p50 and p99 of each target are those of
// the union of its results, not the worst shard's; a result under no
// target (1 s) is in the phase's figures only. With a shard's target
// indexes cut short, the targets keep the worst shard's latencies.
func TestMergeTargetLatencies(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		short bool // shard 2's target indexes cut short
	}{{"exact", false}, {"indexes cut short", true}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			d1 := fakeShard{index: 1, count: 2, scenario: "name: s\n", pid: 7, requests: 70}.write(t)
			d2 := fakeShard{index: 2, count: 2, scenario: "name: s\n", pid: 7, requests: 16}.write(t)
			a1, b1 := shardLoad{a: lats(50, time.Millisecond), b: lats(20, 5*time.Millisecond)}.writeLoad(t, d1)
			a2, b2 := shardLoad{a: lats(10, 100*time.Millisecond), b: lats(5, 2*time.Millisecond),
				none: []time.Duration{time.Second}}.writeLoad(t, d2)
			if tc.short {
				os.Truncate(filepath.Join(d2, record.PhaseFile("hold", record.TargetIndexesSuffix)), 3)
			}
			out := filepath.Join(t.TempDir(), "m")
			if _, err := Runs([]string{d1, d2}, out); err != nil {
				t.Fatal(err)
			}
			r, err := record.Open(out)
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			prs, err := r.PhaseResults()
			if err != nil || len(prs) != 1 || len(prs[0].Targets) != 2 {
				t.Fatalf("phase results %+v, %v", prs, err)
			}
			if prs[0].Requests != 86 || prs[0].LatencyMax != 1000 {
				t.Errorf("phase: %d requests (want 86), max %v ms (want 1000: the result under no target)", prs[0].Requests, prs[0].LatencyMax)
			}
			// The merged run's target indexes, when exact: one per result.
			var idx []uint64 // results per merged index (0: no target)
			if b, err := os.ReadFile(filepath.Join(out, record.PhaseFile("hold", record.TargetIndexesSuffix))); err == nil {
				idx = make([]uint64, 3)
				for len(b) > 0 {
					ti, n := binary.Uvarint(b)
					if n <= 0 || ti > 2 {
						t.Fatalf("merged target indexes: %d (%d bytes)", ti, n)
					}
					idx[ti]++
					b = b[n:]
				}
			}
			if tc.short != (idx == nil) || tc.short != (prs[0].TargetIndexes == "") {
				t.Errorf("merged target indexes %q: %v (want them only when exact)", prs[0].TargetIndexes, idx)
			}
			if idx != nil && (idx[0] != 1 || idx[1] != prs[0].Targets[0].Requests || idx[2] != prs[0].Targets[1].Requests) {
				t.Errorf("merged target indexes count %v results per index, want [1 %d %d]", idx, prs[0].Targets[0].Requests, prs[0].Targets[1].Requests)
			}
			for i, parts := range [][2][]vegeta.Result{{a1, a2}, {b1, b2}} {
				m := metrics(parts[0], parts[1]) // the union's, computed directly
				s1, s2 := metrics(parts[0]), metrics(parts[1])
				worst := [2]float64{ms2(max(s1.Latencies.P50, s2.Latencies.P50)), ms2(max(s1.Latencies.P99, s2.Latencies.P99))}
				got := prs[0].Targets[i]
				want := [2]float64{ms2(m.Latencies.P50), ms2(m.Latencies.P99)}
				if tc.short {
					want = worst
				} else if want == worst {
					t.Fatalf("target %s: the union's p50/p99 %v equal the worst shard's: the test cannot tell them apart", got.Target, want)
				}
				if g := [2]float64{got.LatencyP50, got.LatencyP99}; g != want || got.Requests != m.Requests {
					t.Errorf("target %s: %d requests, p50/p99 %v ms, want %d, %v ms", got.Target, got.Requests, g, m.Requests, want)
				}
			}
		})
	}
}
