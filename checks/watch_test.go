package checks

import (
	"strings"
	"testing"
	"time"

	"github.com/soak-dev/soak/internal/stats"
	"github.com/soak-dev/soak/record"
	"github.com/soak-dev/soak/scenarios"
)

// hist holds n latencies of each of ds.
func hist(n int, ds ...time.Duration) stats.Hist {
	var h stats.Hist
	for _, d := range ds {
		for range n {
			h.Add(d)
		}
	}
	return h
}

// Load thresholds are judged over a window while the run goes on, and
// fail only once certain: a p99 whose latency bucket straddles the limit,
// a window with too few requests or a lower bound on max never fail it.
func TestWatchLoad(t *testing.T) {
	t.Parallel()
	sc := &scenarios.Scenario{Phases: []*scenarios.Phase{{Name: "warm", Steady: &scenarios.Steady{
		Requests: scenarios.Requests{Targets: []string{"GET /a", "PUT /b", "PUT /b", "GET /c"}}}}}}
	a := func(done, failed int64, lat stats.Hist, mx time.Duration) TargetSpan {
		return TargetSpan{Target: "GET /a", Sent: done, Done: done, Failed: failed, Latency: lat, Max: mx}
	}
	b := func(sent, done, failed int64, lat stats.Hist, mx time.Duration) TargetSpan {
		return TargetSpan{Target: "PUT /b", Sent: sent, Done: done, Failed: failed, Latency: lat, Max: mx}
	}
	ok := hist(25, 10*time.Millisecond)
	slow := hist(25, 300*time.Millisecond)
	for _, tc := range []struct {
		name    string
		check   scenarios.LoadCheck
		targets []TargetSpan
		planned float64
		want    string // "" when the window does not fail it
	}{
		{"healthy", scenarios.LoadCheck{ErrorRate: "< 1%", P99: "< 250ms", Max: "< 1s", Rate: ">= 95%"},
			[]TargetSpan{a(25, 0, ok, 20*time.Millisecond), b(50, 50, 0, hist(50, 10*time.Millisecond), 30*time.Millisecond)}, 75, ""},
		{"errors", scenarios.LoadCheck{ErrorRate: "<= 10%"}, []TargetSpan{a(25, 0, ok, 0), b(50, 50, 50, ok, 0)}, 0,
			`load/warm: phase warm: error_rate 66.7% over the last 5s (50 of 75 requests failed; limit <= 10%); by target: "GET /a" 0 of 25 failed, p99 >= 9.2ms; "PUT /b" 50 of 50 failed, p99 >= 9.2ms`},
		{"p99 over", scenarios.LoadCheck{P99: "< 250ms"}, []TargetSpan{a(25, 0, slow, time.Second)}, 0,
			"phase warm: p99 at least 294.9ms over the last 5s (25 requests; limit < 250ms)"},
		{"p99 in the limit's bucket", scenarios.LoadCheck{P99: "< 250ms"}, []TargetSpan{a(25, 0, hist(25, 251*time.Millisecond), 0)}, 0, ""},
		{"too few requests", scenarios.LoadCheck{P99: "< 250ms", ErrorRate: "< 1%"}, []TargetSpan{a(19, 19, hist(19, time.Second), 0)}, 0, ""},
		{"max over at once", scenarios.LoadCheck{Max: "< 1s"}, []TargetSpan{a(1, 0, hist(1, 2*time.Second), 1500*time.Millisecond)}, 0,
			"phase warm: max 1.5s: a request took longer than the limit < 1s allows"},
		{"max lower bound not certain", scenarios.LoadCheck{Max: "> 1s"}, []TargetSpan{a(25, 0, ok, 10*time.Millisecond)}, 0, ""},
		{"rate short", scenarios.LoadCheck{Rate: ">= 95%"}, []TargetSpan{a(25, 0, ok, 0), b(25, 25, 0, ok, 0)}, 100,
			"phase warm: rate 50.0% of the 100 planned over the last 5s (50 sent; limit >= 95%)"},
		{"target's share", scenarios.LoadCheck{Target: "PUT /b", Rate: ">= 95%"}, []TargetSpan{a(25, 0, ok, 0), b(25, 25, 0, ok, 0)}, 100,
			"load/warm/PUT /b: phase warm, target PUT /b: rate 50.0% of the 50 planned"},
		{"other target fails", scenarios.LoadCheck{Target: "GET /a", ErrorRate: "< 1%"}, []TargetSpan{a(25, 0, ok, 0), b(50, 50, 50, ok, 0)}, 0, ""},
		{"target fails", scenarios.LoadCheck{Target: "PUT /b", P99: "< 100ms"}, []TargetSpan{a(25, 0, ok, 0), b(25, 25, 0, slow, 0)}, 0,
			"phase warm, target PUT /b: p99 at least 294.9ms"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := tc.check
			c.Phase = "warm"
			sc := *sc
			sc.Expect = []*scenarios.Expectation{{Load: &c, AbortOnFail: true}}
			w := NewWatch(&sc, false)
			r := w.Load(LoadSpan{Phase: "warm", Base: "warm", Kind: "steady", Span: 5 * time.Second, Planned: tc.planned, Targets: tc.targets})
			switch {
			case tc.want == "" && r != nil:
				t.Errorf("failed: %s: %s", r.Name, r.Message)
			case tc.want != "" && (r == nil || !strings.Contains(r.Name+": "+r.Message, tc.want)):
				t.Errorf("got %+v, want a failure with %q", r, tc.want)
			}
		})
	}
}

// A reclaim check with abort_on_fail stops a run only past the limit the
// check at the end would use: its default tolerance grows by the timer
// lateness seen so far, capped at the timeout, as the final check's does.
func TestWatchReclaimAddsLateness(t *testing.T) {
	t.Parallel()
	sc := &scenarios.Scenario{Interval: scenarios.Duration(time.Second),
		Layers: map[string]*scenarios.Layer{"client": {Node: "sut", IdleTimeout: scenarios.Duration(4 * time.Second)}},
		Expect: []*scenarios.Expectation{{Reclaim: &scenarios.ReclaimCheck{Layer: "client"}, AbortOnFail: true}}}
	sample := func(idle time.Duration) record.Sample {
		return record.Sample{Time: time.Unix(100, 0), Node: "sut", Sockets: &record.Sockets{Method: record.MethodNetlink,
			Layers: map[string]*record.LayerSockets{"client": {ByState: map[string]int{"ESTABLISHED": 1}, Idle: &record.IdleStats{Max: idle.Milliseconds()}}}}}
	}
	// The limit without lateness: 4 s + one interval 1 s + 500 ms.
	for _, tc := range []struct {
		name       string
		late, idle time.Duration
		fails      bool
	}{
		{"no lateness, past the limit", 0, 5800 * time.Millisecond, true},
		{"no lateness, within", 0, 5400 * time.Millisecond, false},
		{"late 700ms covers it", 700 * time.Millisecond, 5800 * time.Millisecond, false},
		{"late 700ms, past the wider limit", 700 * time.Millisecond, 6300 * time.Millisecond, true},
		{"lateness capped at the timeout", time.Minute, 9600 * time.Millisecond, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := NewWatch(sc, false)
			w.Lateness = func() time.Duration { return tc.late }
			r := w.Sample("sut", sample(tc.idle))
			if (r != nil) != tc.fails {
				t.Fatalf("idle %s, lateness %s: failed = %v (%+v), want %v", tc.idle, tc.late, r != nil, r, tc.fails)
			}
		})
	}
}
