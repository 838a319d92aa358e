package checks

import (
	"strings"
	"testing"

	"github.com/soak-dev/soak/record"
	"github.com/soak-dev/soak/reports"
	"github.com/soak-dev/soak/scenarios"
)

// The verdict cannot say more than the run saw: a run that never came up is
// an error with its cause and no checks; one that lost data is an error
// whatever its checks said; --inconclusive-fails recorded in meta.json
// holds on a recheck (Options left zero, as soak report --recheck passes).
func TestVerdictHonestAboutTheRun(t *testing.T) {
	drain := &scenarios.Expectation{Drain: &scenarios.DrainCheck{Layer: "intra", After: "rest"}}
	for _, tc := range []struct {
		name   string
		edit   func(*fixture)
		want   string
		checks int
		cause  string
	}{
		{"setup failed", func(f *fixture) {
			f.meta.Phases, f.meta.Ended, f.meta.Cause = nil, record.EndedError, "node n exited with status 1 before it was ready"
		}, record.StatusError, 0, "node n exited with status 1"},
		{"lost data", func(f *fixture) {
			f.meta.Lost = []string{"samples.jsonl: 3 lines not written: no space left on device"}
		},
			record.StatusError, 1, "lost data: samples.jsonl: 3 lines not written"},
		{"inconclusive fails, from meta", func(f *fixture) { f.meta.InconclusiveFails = true }, record.StatusFail, 1, ""},
		{"inconclusive", func(f *fixture) {}, record.StatusInconclusive, 1, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			f.phase("load", "load", "steady", 1, 10)
			f.phase("rest", "rest", "quiet", 10, 20)
			tc.edit(f)
			v := f.evaluate(drain) // no sample: drain is inconclusive
			if v.Status != tc.want || len(v.Checks) != tc.checks || !strings.Contains(v.Cause, tc.cause) {
				t.Fatalf("verdict %s with %d checks, cause %q; want %s with %d, cause containing %q", v.Status, len(v.Checks), v.Cause, tc.want, tc.checks, tc.cause)
			}
			junit, err := reports.JUnit(v)
			if err != nil {
				t.Fatal(err)
			}
			j := string(junit)
			switch tc.want {
			case record.StatusError:
				if !strings.Contains(j, `<error message="`) || !strings.Contains(j, `errors="1"`) {
					t.Errorf("junit of an error verdict lacks its error case:\n%s", j)
				}
			case record.StatusInconclusive:
				if !strings.Contains(j, `<skipped message="inconclusive: intra:`) {
					t.Errorf("junit of an inconclusive check is not skipped with its reason:\n%s", j)
				}
			}
		})
	}
}
