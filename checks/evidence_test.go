package checks

import (
	"strings"
	"testing"

	"github.com/soak-dev/soak/record"
	"github.com/soak-dev/soak/scenarios"
)

// A check with nothing to look at is inconclusive with the reason, never a
// pass: a layer no witness saw (the drain/backend that passed on a
// layer where no socket was ever seen), a series the run never produced, a
// phase that never ran. The same checks pass once the evidence is there.
func TestNoEvidenceIsInconclusive(t *testing.T) {
	sockets := func(layer string, n int) func(*record.Sample) {
		return func(s *record.Sample) {
			s.Sockets = layerSockets(layer, n, 0)
			s.Goroutines = &record.Goroutines{Total: 10, Source: record.SourcePprof, ByClass: map[string]int{record.ClassServerConn: n}}
		}
	}
	for _, tc := range []struct {
		name   string
		seen   int // established backend sockets (and server-conn goroutines) in every sample
		expect *scenarios.Expectation
		want   string
		msg    string
	}{
		{"drain, layer never seen", 0, &scenarios.Expectation{Drain: &scenarios.DrainCheck{Layer: "backend", After: "rest"}},
			record.StatusInconclusive, "backend: no witness saw a connection of the layer (kernel: no socket in 3 socket dumps of node target; no ledger recorded one)"},
		{"drain, layer seen", 2, &scenarios.Expectation{Drain: &scenarios.DrainCheck{Layer: "backend", After: "rest", To: "2"}},
			record.StatusPass, "drained"},
		{"close_wait, layer never seen", 0, &scenarios.Expectation{CloseWait: &scenarios.CloseWaitCheck{Layer: "backend", MaxAge: scenarios.Duration(3e9)}},
			record.StatusInconclusive, "no witness saw a connection"},
		{"close_wait, any layer, none seen", 0, &scenarios.Expectation{CloseWait: &scenarios.CloseWaitCheck{MaxAge: scenarios.Duration(3e9)}},
			record.StatusInconclusive, "no socket of any layer was seen"},
		{"close_wait, layer seen", 2, &scenarios.Expectation{CloseWait: &scenarios.CloseWaitCheck{Layer: "backend", MaxAge: scenarios.Duration(3e9)}},
			record.StatusPass, "longest CLOSE_WAIT"},
		{"max of a misspelled class", 2, &scenarios.Expectation{Max: &scenarios.MaxCheck{Series: "goroutines.server_conn", Node: "target", Value: 5}},
			record.StatusInconclusive, "server-conn"},
		{"max of a class never seen", 0, &scenarios.Expectation{Max: &scenarios.MaxCheck{Series: "goroutines.server-conn", Node: "target", Value: 5}},
			record.StatusInconclusive, "no goroutine of class server-conn was seen"},
		{"max of a class seen", 2, &scenarios.Expectation{Max: &scenarios.MaxCheck{Series: "goroutines.server-conn", Node: "target", Value: 5}},
			record.StatusPass, "peaked at 2"},
		{"max of all layers, none seen", 0, &scenarios.Expectation{Max: &scenarios.MaxCheck{Series: "sockets.all", Node: "target", Value: 5}},
			record.StatusInconclusive, "no witness saw a connection of any layer"},
		{"max of a layer never seen", 0, &scenarios.Expectation{Max: &scenarios.MaxCheck{Series: "sockets.backend", Value: 5}},
			record.StatusInconclusive, "no witness saw a connection"},
		{"no_growth during a phase that never ran", 2, &scenarios.Expectation{NoGrowth: &scenarios.NoGrowthCheck{Series: "fds", Node: "target", During: []string{"soak"}}},
			record.StatusInconclusive, `phase "soak" never ran`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			f.phase("load", "load", "steady", 1, 10)
			f.phase("rest", "rest", "quiet", 10, 20)
			for _, sec := range []float64{0, 9, 20} {
				f.sample("target", sec, sockets("backend", tc.seen))
			}
			c := onlyCheck(t, f.evaluate(tc.expect))
			if c.Status != tc.want || !strings.Contains(c.Message, tc.msg) {
				t.Fatalf("got %s %q, want %s containing %q", c.Status, c.Message, tc.want, tc.msg)
			}
		})
	}
}

// A backend layer the kernel never saw but the fake backend's ledger did is
// witnessed: the check goes on to judge it.
func TestLedgerIsEvidence(t *testing.T) {
	f := newFixture(t)
	f.phase("load", "load", "steady", 1, 10)
	f.phase("rest", "rest", "quiet", 10, 20)
	for _, sec := range []float64{0, 9, 20} {
		f.sample("target", sec, func(s *record.Sample) { s.Sockets = layerSockets("backend", 0, 0) })
	}
	f.conn(record.Conn{Witness: record.WitnessBackend, Source: "s3", Opened: at(2), Closed: at(4)})
	c := onlyCheck(t, f.evaluate(&scenarios.Expectation{Drain: &scenarios.DrainCheck{Layer: "backend", After: "rest"}}))
	if c.Status != record.StatusPass {
		t.Fatalf("got %s %q, want pass", c.Status, c.Message)
	}
}
