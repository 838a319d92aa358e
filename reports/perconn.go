package reports

import (
	"maps"
	"time"

	"github.com/soak-dev/soak/internal/stats"
	"github.com/soak-dev/soak/record"
	"slices"
)

// Goroutines and FDs per idle connection, per layer, from steps.
//
// Fitting goroutines against connections needs many connections (the ratio
// check wants 10) or a count that varies a lot. A step needs only two: at
// the moment a layer's connections close (the SUT reclaims idle ones) or
// open, on a node where nothing else changes, the goroutines and FDs that
// went with them are the difference across the step. An event is four
// consecutive samples s0..s3 of the layer's node where only this layer's
// ESTABLISHED count changed, between s1 and s2 (s0 = s1 and s2 = s3, every
// other layer equal in all four), all four outside rate-driven phases (no
// request goroutines in flight). Its estimate is
//
//	(g(s3) - g(s0)) / (c(s2) - c(s1))
//
// taken across s0..s3, not s1..s2, because goroutines and sockets are read
// a moment apart: a connection closing between the two reads of s1 or s2
// is counted in one and not the other. The layer's figure is the median of
// its events' estimates; the spread is their min..max.

// stepPoint is what the step finder keeps of one sample.
type stepPoint struct {
	t        time.Time
	g, f     float64
	hasG     bool
	hasF     bool
	est      map[string]int
	quiet    bool // outside rate-driven phases
	cycle    int
	gSource  string
	hasSocks bool
}

// stepEvent is one step of one layer.
type stepEvent struct {
	t        time.Time
	dc       int
	perG     float64
	perF     float64
	hasF     bool
	cycle    int
	gSource  string
	opening  bool
	nodeName string
}

// rateDriven are the phase kinds that keep requests in flight.
var rateDriven = map[string]bool{"steady": true, "ramp": true, "burst": true, "churn": true, "slow": true, "abandon": true}

// stepPointOf reduces a sample for the step finder.
func (tl *timeline) stepPointOf(smp record.Sample) stepPoint {
	p := stepPoint{t: smp.Time, quiet: true}
	if i := tl.phaseAt(smp.Time); i >= 0 {
		p.quiet = !rateDriven[tl.phases[i].Kind]
		p.cycle = tl.cycle[i]
	}
	if g := smp.Goroutines; g != nil && g.Source != record.SourceThreads {
		p.g, p.hasG, p.gSource = float64(g.Total), true, g.Source
	}
	if f := smp.FDs; f != nil {
		p.f, p.hasF = float64(f.Total), true
	}
	if sk := smp.Sockets; sk != nil && !sk.Partial {
		p.hasSocks = true
		p.est = make(map[string]int, len(sk.Layers))
		for l, ls := range sk.Layers {
			if e := ls.Established(); e > 0 {
				p.est[l] = e
			}
		}
	}
	return p
}

// addStep slides the node's window of four samples and records an event
// when the window holds one.
func (tl *timeline) addStep(ns *nodeSeries, smp record.Sample) {
	ns.win = append(ns.win, tl.stepPointOf(smp))
	if len(ns.win) > 4 {
		ns.win = ns.win[1:]
	}
	if len(ns.win) < 4 {
		return
	}
	w := ns.win
	for _, p := range w {
		if !p.hasG || !p.hasSocks || !p.quiet {
			return
		}
	}
	layer, dc := "", 0
	for _, l := range unionKeys(w[1].est, w[2].est) {
		if d := w[2].est[l] - w[1].est[l]; d != 0 {
			if layer != "" {
				return // two layers moved together: not attributable
			}
			layer, dc = l, d
		}
	}
	if layer == "" || !sameCounts(w[0].est, w[1].est) || !sameCounts(w[2].est, w[3].est) {
		return
	}
	ev := stepEvent{t: w[2].t, dc: dc, perG: (w[3].g - w[0].g) / float64(dc), cycle: w[2].cycle,
		gSource: w[3].gSource, opening: dc > 0, nodeName: ns.name}
	if w[0].hasF && w[3].hasF {
		ev.perF, ev.hasF = (w[3].f-w[0].f)/float64(dc), true
	}
	if ns.steps == nil {
		ns.steps = map[string][]stepEvent{}
	}
	ns.steps[layer] = append(ns.steps[layer], ev)
}

func sameCounts(a, b map[string]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func unionKeys(a, b map[string]int) []string {
	set := map[string]bool{}
	for k := range a {
		set[k] = true
	}
	for k := range b {
		set[k] = true
	}
	return slices.Sorted(maps.Keys(set))
}

// PerIdleConn is a layer's goroutines and FDs per idle connection,
// estimated from steps (see perconn.go).
type PerIdleConn struct {
	// Goroutines is the median of the events' estimates, GoroutinesMin and
	// GoroutinesMax their range; FDs the same for open FDs.
	Goroutines    float64 `json:"goroutines"`
	GoroutinesMin float64 `json:"goroutines_min"`
	GoroutinesMax float64 `json:"goroutines_max"`
	FDs           float64 `json:"fds"`
	FDsMin        float64 `json:"fds_min"`
	FDsMax        float64 `json:"fds_max"`
	HasFDs        bool    `json:"has_fds,omitempty"`
	// Events is the number of steps used (Opens of them connections opening),
	// Conns the connections they moved in all.
	Events int `json:"events"`
	Opens  int `json:"opens"`
	Conns  int `json:"conns"`
	// Source is where the goroutines were counted: pprof (all goroutines,
	// by class) or metrics (go_goroutines totals, for builds without pprof).
	Source string `json:"source"`
	Node   string `json:"node"`
}

// addPerIdleConn puts each layer's per-idle-connection estimate into the
// summary, with figures <layer>.goroutines_per_idle_conn and
// <layer>.fds_per_idle_conn, and their per-cycle spread.
func addPerIdleConn(s *Summary, tl *timeline) {
	for _, layer := range slices.Sorted(maps.Keys(s.Layers)) {
		node := s.Layers[layer].Node
		ns := tl.nodes[node]
		if ns == nil || len(ns.steps[layer]) == 0 {
			continue
		}
		evs := ns.steps[layer]
		pc := &PerIdleConn{Node: node, Events: len(evs)}
		var gs, fs []float64
		gByCycle, fByCycle := map[int][]float64{}, map[int][]float64{}
		for _, e := range evs {
			gs = append(gs, e.perG)
			pc.Conns += abs(e.dc)
			if e.opening {
				pc.Opens++
			}
			pc.Source = e.gSource
			if e.hasF {
				fs = append(fs, e.perF)
			}
			if e.cycle > 0 {
				gByCycle[e.cycle] = append(gByCycle[e.cycle], e.perG)
				if e.hasF {
					fByCycle[e.cycle] = append(fByCycle[e.cycle], e.perF)
				}
			}
		}
		pc.Goroutines, pc.GoroutinesMin, pc.GoroutinesMax = medianRange(gs)
		if len(fs) > 0 {
			pc.FDs, pc.FDsMin, pc.FDsMax = medianRange(fs)
			pc.HasFDs = true
		}
		ls := s.Layers[layer]
		ls.PerIdleConn = pc
		s.Layers[layer] = ls
		s.Figures[layer+".goroutines_per_idle_conn"] = pc.Goroutines
		if pc.HasFDs {
			s.Figures[layer+".fds_per_idle_conn"] = pc.FDs
		}
		if s.Cycles >= 2 {
			cycleSpreadOf(s, layer+".goroutines_per_idle_conn", gByCycle)
			if pc.HasFDs {
				cycleSpreadOf(s, layer+".fds_per_idle_conn", fByCycle)
			}
		}
	}
}

// cycleSpreadOf sets the spread of fig from per-cycle medians, when 2 or
// more cycles had events.
func cycleSpreadOf(s *Summary, fig string, byCycle map[int][]float64) {
	if len(byCycle) < 2 {
		return
	}
	m := map[int]float64{}
	for c, v := range byCycle {
		m[c], _, _ = medianRange(v)
	}
	if s.Spread == nil {
		s.Spread = map[string]float64{}
	}
	s.Spread[fig] = valueRange(m)
}

func medianRange(v []float64) (med, lo, hi float64) {
	return stats.Median(v), slices.Min(v), slices.Max(v)
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}
