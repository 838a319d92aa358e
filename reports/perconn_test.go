package reports

import (
	"testing"
	"time"

	"github.com/soak-dev/soak/record"
)

// stepRun feeds a timeline samples of one node built from per-tick
// (intra conns, client conns, goroutines) and returns the summary's
// per-idle-connection estimates.
func stepRun(t *testing.T, kind string, ticks [][3]int) *Summary {
	t.Helper()
	start := synthStart
	m := record.Meta{Start: start, End: start.Add(time.Duration(len(ticks)) * time.Second), IntervalMs: 1000,
		Layers: map[string]record.LayerMeta{"intra": {Node: "proxy", Peer: "target"}, "client": {Node: "proxy", Listen: "proxy"}},
		Phases: []record.PhaseMeta{{Name: "p", Base: "p", Kind: kind, Start: start, End: start.Add(time.Hour), Cycle: 1}}}
	tl := newTimeline(m)
	for i, tk := range ticks {
		tl.add(record.Sample{Time: start.Add(time.Duration(i) * time.Second), Node: "proxy",
			Goroutines: &record.Goroutines{Total: tk[2], Source: record.SourcePprof},
			FDs:        &record.FDs{Total: 10 + tk[0] + tk[1]},
			Sockets: &record.Sockets{Method: record.MethodNetlink, Layers: map[string]*record.LayerSockets{
				"intra":  {ByState: map[string]int{"ESTABLISHED": tk[0]}},
				"client": {ByState: map[string]int{"ESTABLISHED": tk[1]}},
			}}})
	}
	s := &Summary{Layers: map[string]LayerSummary{"intra": {Node: "proxy"}, "client": {Node: "proxy"}}, Figures: map[string]float64{}}
	addPerIdleConn(s, tl)
	return s
}

func TestPerIdleConnSteps(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		kind   string
		ticks  [][3]int
		events int
		want   float64
	}{
		{"2 conns open then close, 2 goroutines each", "idle",
			[][3]int{{0, 0, 10}, {0, 0, 10}, {2, 0, 14}, {2, 0, 14}, {2, 0, 14}, {0, 0, 10}, {0, 0, 10}}, 2, 2},
		{"read skew: goroutines gone a sample before the sockets", "quiet",
			[][3]int{{2, 0, 14}, {2, 0, 14}, {2, 0, 10}, {0, 0, 10}, {0, 0, 10}}, 1, 2},
		{"none per connection (fasthttp client)", "quiet",
			[][3]int{{3, 0, 11}, {3, 0, 11}, {0, 0, 11}, {0, 0, 11}}, 1, 0},
		{"two layers move together: not attributable", "quiet",
			[][3]int{{2, 1, 14}, {2, 1, 14}, {0, 0, 9}, {0, 0, 9}}, 0, 0},
		{"under load: request goroutines in flight", "steady",
			[][3]int{{0, 0, 10}, {0, 0, 10}, {2, 0, 30}, {2, 0, 30}}, 0, 0},
		{"no stable sample after the step", "quiet",
			[][3]int{{2, 0, 14}, {2, 0, 14}, {1, 0, 12}, {0, 0, 10}, {0, 0, 10}}, 0, 0},
	} {
		s := stepRun(t, tc.kind, tc.ticks)
		pc := s.Layers["intra"].PerIdleConn
		got := 0
		if pc != nil {
			got = pc.Events
		}
		if got != tc.events {
			t.Errorf("%s: %d events (%+v), want %d", tc.name, got, pc, tc.events)
			continue
		}
		if pc == nil {
			continue
		}
		if pc.Goroutines != tc.want || s.Figures["intra.goroutines_per_idle_conn"] != tc.want {
			t.Errorf("%s: %v goroutines per idle conn, want %v", tc.name, pc.Goroutines, tc.want)
		}
		if !pc.HasFDs || pc.FDs != 1 || pc.Source != record.SourcePprof {
			t.Errorf("%s: fds %v (has %v), source %q; want 1 from pprof", tc.name, pc.FDs, pc.HasFDs, pc.Source)
		}
	}
}
