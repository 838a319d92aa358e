package checks

import (
	"strings"
	"testing"

	"github.com/soak-dev/soak/internal/seriestest"
	"github.com/soak-dev/soak/record"
	"github.com/soak-dev/soak/scenarios"
)

// TestMisspelledSeries is issue 18's silent pass: a check on a misspelled
// class, a state the checks did not count, or a layer the run does not
// have read 0 and passed while 800 goroutines and 50 CLOSE sockets existed.
// A name validation would reject (a scenario.yaml edited in a run
// directory) is inconclusive here, never 0.
func TestMisspelledSeries(t *testing.T) {
	for _, tc := range []struct {
		series, node string
		want         string
		msg          string
	}{
		{"goroutines.server-conn", "proxy", record.StatusFail, "reached 800"},
		{"goroutines.server_conn", "proxy", record.StatusInconclusive, `did you mean "goroutines.server-conn"`},
		{"sockets.client.CLOSE", "", record.StatusFail, "reached 50"},
		{"sockets.client.close", "", record.StatusInconclusive, `did you mean "sockets.client.CLOSE"`},
		{"sockets.clinet", "proxy", record.StatusInconclusive, `did you mean "sockets.client"`},
		{"sockets.all.CLOSE", "proxy", record.StatusFail, "reached 50"},
	} {
		t.Run(tc.series, func(t *testing.T) {
			f := newFixture(t)
			f.phase("load", "load", "steady", 2, 10)
			for _, sec := range []float64{1, 5, 9} {
				f.sample("proxy", sec, func(s *record.Sample) {
					s.Goroutines = &record.Goroutines{Total: 900, Source: record.SourcePprof,
						ByClass: map[string]int{record.ClassServerConn: 800, record.ClassOther: 100}}
					s.Sockets = layerSockets("client", 3, 100)
					s.Sockets.Layers["client"].ByState["CLOSE"] = 50
				})
			}
			c := onlyCheck(t, f.evaluate(&scenarios.Expectation{Max: &scenarios.MaxCheck{Series: tc.series, Node: tc.node, Value: 5}}))
			if c.Status != tc.want || !strings.Contains(c.Message, tc.msg) {
				t.Fatalf("max %s: got %s %q, want %s with %q", tc.series, c.Status, c.Message, tc.want, tc.msg)
			}
		})
	}
}

// TestRegisteredSeries: a series a probe source registers is judged from
// record.Sample.Values with no code of the checks' own.
func TestRegisteredSeries(t *testing.T) {
	for _, tc := range []struct {
		name     string
		values   map[string]float64
		max      float64
		want, in string
	}{
		{"over", map[string]float64{seriestest.Ticks.Name: 9}, 5, record.StatusFail, "reached 9"},
		{"under", map[string]float64{seriestest.Ticks.Name: 3}, 5, record.StatusPass, ""},
		{"absent", nil, 5, record.StatusInconclusive, ""}, // no value is no pass
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			f.phase("load", "load", "steady", 2, 10)
			for _, sec := range []float64{1, 5, 9} {
				f.sample("proxy", sec, func(s *record.Sample) { s.Values = tc.values })
			}
			c := onlyCheck(t, f.evaluate(&scenarios.Expectation{Max: &scenarios.MaxCheck{Series: seriestest.Ticks.Name, Node: "proxy", Value: tc.max}}))
			if c.Status != tc.want || !strings.Contains(c.Message, tc.in) {
				t.Fatalf("max %s: got %s %q, want %s with %q", seriestest.Ticks.Name, c.Status, c.Message, tc.want, tc.in)
			}
			if c.Unit != seriestest.Ticks.Unit && c.Status != record.StatusInconclusive {
				t.Errorf("unit %q, want %q", c.Unit, seriestest.Ticks.Unit)
			}
		})
	}
}
