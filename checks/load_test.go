package checks

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/soak-dev/soak/record"
	"github.com/soak-dev/soak/scenarios"
)

// TestLoadThresholds judges each threshold on a crafted load/<phase>.json:
// pass, fail with the broken one and the failures named, inconclusive when
// nothing can be compared.
func TestLoadThresholds(t *testing.T) {
	base := record.PhaseResult{Phase: "warm", Kind: "steady", Requests: 1000, Rate: 100, Success: 0.995,
		LatencyP50: 10, LatencyP90: 40, LatencyP99: 200, LatencyMax: 900, PlannedRequests: 1000,
		StatusCodes: map[string]int{"200": 995, "503": 3}, Errors: map[string]int{"eof": 2},
		Examples: map[string]string{"503": "GET http://x/a: 503", "eof": "GET http://x/a: EOF"}}
	values := map[string]string{"p99 broken": "200 ms", "errors named": "0.5 %", "all hold": "0.5 %", "target holds": "0 %"}
	for _, tc := range []struct {
		name  string
		check scenarios.LoadCheck
		edit  func(*record.PhaseResult)
		want  string
		msg   string
	}{
		{"all hold", scenarios.LoadCheck{ErrorRate: "< 1%", P99: "< 250ms", Rate: ">= 95%"}, nil, record.StatusPass,
			"error_rate 0.5% (limit < 1%), p99 200.0ms (limit < 250ms), rate 100.0% of the 1000 planned (limit >= 95%) over 1000 requests"},
		{"p99 broken", scenarios.LoadCheck{ErrorRate: "< 1%", P99: "< 100ms"}, nil, record.StatusFail, "phase warm: p99 200.0ms (limit < 100ms)"},
		{"max broken", scenarios.LoadCheck{Max: "<= 500ms"}, nil, record.StatusFail, "max 900.0ms (limit <= 500ms)"},
		{"rate short", scenarios.LoadCheck{Rate: ">= 95%"}, func(r *record.PhaseResult) { r.Requests = 500 }, record.StatusFail,
			"rate 50.0% of the 1000 planned (limit >= 95%)"},
		{"errors named", scenarios.LoadCheck{ErrorRate: "< 0.1%"}, nil, record.StatusFail,
			"error_rate 0.5% (limit < 0.1%); 5 of 1000 requests failed: HTTP 503 x3, eof x2 (e.g. GET http://x/a: 503)"},
		{"expected 404s", scenarios.LoadCheck{ErrorRate: "< 1%"}, func(r *record.PhaseResult) {
			r.StatusCodes, r.Errors, r.Success, r.ExpectStatus = map[string]int{"404": 1000}, nil, 1, []int{404}
		}, record.StatusPass, "error_rate 0.0%"},
		{"unplanned rate", scenarios.LoadCheck{Rate: ">= 95%"}, func(r *record.PhaseResult) { r.PlannedRequests = 0 }, record.StatusInconclusive,
			"planned no rate"},
		{"no request", scenarios.LoadCheck{ErrorRate: "< 1%"}, func(r *record.PhaseResult) { r.Requests = 0 }, record.StatusInconclusive,
			"sent no request"},
		{"target broken", scenarios.LoadCheck{Target: "PUT /b", ErrorRate: "< 0.5%", P99: "< 250ms"}, twoTargets, record.StatusFail,
			"phase warm, target PUT /b: error_rate 1.0% (limit < 0.5%); 5 of 500 requests failed: HTTP 503 x3, eof x2 (e.g. PUT http://x/b: 503)"},
		{"target holds", scenarios.LoadCheck{Target: "GET /a", ErrorRate: "< 0.5%", P99: "< 250ms"}, twoTargets, record.StatusPass,
			"phase warm, target GET /a: error_rate 0.0% (limit < 0.5%), p99 20.0ms (limit < 250ms) over 500 requests"},
		{"target not recorded", scenarios.LoadCheck{Target: "GET /z", ErrorRate: "< 1%"}, twoTargets, record.StatusInconclusive,
			`phase warm, target GET /z: load/warm.json has no result for the target (targets: "GET /a", "PUT /b")`},
		{"phase names failing target", scenarios.LoadCheck{ErrorRate: "< 0.1%"}, twoTargets, record.StatusFail,
			`5 of 1000 requests failed: by target: "PUT /b": 5 of 500 failed: HTTP 503 x3, eof x2 (e.g. PUT http://x/b: 503); 1 other target(s) had no failure`},
		{"phase never ran", scenarios.LoadCheck{Phase: "cool", ErrorRate: "< 1%"}, nil, record.StatusInconclusive, `phase "cool" never ran`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			f.phase("warm", "warm", "steady", 1, 11)
			res := base
			if tc.edit != nil {
				tc.edit(&res)
			}
			if err := record.WriteJSONAtomic(filepath.Join(f.w.Dir(), record.LoadDir, "warm.json"), res); err != nil {
				t.Fatal(err)
			}
			c := tc.check
			if c.Phase == "" {
				c.Phase = "warm"
			}
			got := onlyCheck(t, f.evaluate(&scenarios.Expectation{Load: &c}))
			if got.Status != tc.want || !strings.Contains(got.Message, tc.msg) {
				t.Fatalf("got %s %q, want %s containing %q", got.Status, got.Message, tc.want, tc.msg)
			}
			// The value is the first broken threshold's, else the error rate's.
			if v, want := fmt.Sprintf("%.3g %s", got.Value, got.Unit), values[tc.name]; want != "" && v != want {
				t.Errorf("value %q, want %q", v, want)
			}
		})
	}
}

// A rate-driven phase with no load check gets the default guard, also when
// the expect list has other checks; an idle hold does not.
func TestLoadGuardDefault(t *testing.T) {
	sc := &scenarios.Scenario{Phases: []*scenarios.Phase{
		{Name: "warm", Steady: &scenarios.Steady{}}, {Name: "hold", Idle: &scenarios.Idle{}}, {Name: "probe", Steady: &scenarios.Steady{}}}}
	got := loadGuards(sc, []*scenarios.Expectation{{Load: &scenarios.LoadCheck{Phase: "probe", P99: "< 1s"}}})
	if len(got) != 1 || got[0].Load.Phase != "warm" || !isGuard(got[0].Load) {
		t.Fatalf("guards %+v, want one for warm", got)
	}
	if g := loadGuards(sc, []*scenarios.Expectation{{Load: &scenarios.LoadCheck{P99: "< 1s"}}}); len(g) != 0 {
		t.Errorf("a load check of every phase still gets guards: %+v", g)
	}
	got = loadGuards(sc, []*scenarios.Expectation{{Load: &scenarios.LoadCheck{Phase: "warm", Target: "GET /", P99: "< 1s"}}})
	if len(got) != 2 {
		t.Errorf("a check of one target of warm leaves its other targets unguarded: guards %+v", got)
	}
}

// twoTargets splits the base result over GET /a (all fine) and PUT /b
// (the failures).
func twoTargets(r *record.PhaseResult) {
	r.Targets = []record.TargetResult{
		{Target: "GET /a", Requests: 500, OK: 500, LatencyP99: 20, LatencyMax: 30, StatusCodes: map[string]int{"200": 500}},
		{Target: "PUT /b", Requests: 500, OK: 495, LatencyP99: 200, LatencyMax: 900, StatusCodes: map[string]int{"200": 495, "503": 3},
			Errors: map[string]int{"eof": 2}, Examples: map[string]string{"503": "PUT http://x/b: 503", "eof": "PUT http://x/b: EOF"}},
	}
}
