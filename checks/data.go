package checks

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/soak-dev/soak/reclaimed"
	"github.com/soak-dev/soak/record"
	"github.com/soak-dev/soak/scenarios"
	"github.com/soak-dev/soak/series"
)

// runData is a run directory loaded once for all checks: samples by node in
// time order, connections from every witness, and the phases as they ran.
type runData struct {
	meta    record.Meta
	sc      *scenarios.Scenario
	samples map[string][]sample
	conns   []record.Conn
	// loads are the phases' load results (load/<phase>.json) by run name.
	loads map[string]record.PhaseResult
	// events folds the kernel event witness's connections by node and
	// layer: one a connection would not fit a long run's memory.
	events   map[eventsKey]*eventsSeen
	interval time.Duration
	// reclaim times the SUT's idle closes per layer and witness, all witnesses.
	reclaim *reclaimed.Fold
	// stacks keeps each node's goroutine groups at the baseline and the end.
	stacks map[string]*stackEnds
}

type eventsKey struct{ node, layer string }

// eventsSeen is the longest exact idle before close of a node's layer.
type eventsSeen struct {
	n      int       // connections closed
	maxMs  int64     // longest idle before close
	closed time.Time // when that connection closed
}

func loadRun(run *record.Run, sc *scenarios.Scenario) (*runData, error) {
	d := &runData{meta: run.Meta, sc: sc, samples: map[string][]sample{}, events: map[eventsKey]*eventsSeen{}}
	c := series.NewCompactor()
	err := run.EachSample(func(s record.Sample) error {
		d.noteStacks(s)
		d.samples[s.Node] = append(d.samples[s.Node], c.Compact(s))
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read samples: %w", err)
	}
	prs, err := run.PhaseResults()
	if err != nil {
		return nil, fmt.Errorf("read load results: %w", err)
	}
	d.loads = map[string]record.PhaseResult{}
	for _, pr := range prs {
		d.loads[pr.Phase] = pr
	}
	for _, ss := range d.samples {
		sort.SliceStable(ss, func(i, j int) bool { return ss[i].Time.Before(ss[j].Time) })
	}
	// The checks read the ledgers' idle figures only (the kernel witness is
	// in the samples): keep those, without addresses, to stay small.
	d.reclaim = reclaimed.New(run.Meta, nil)
	err = run.EachConn(func(cn record.Conn) error {
		d.reclaim.Add(cn)
		if cn.Witness == record.WitnessKernel {
			return nil
		}
		if cn.Witness == record.WitnessKernelEvents {
			if cn.Closed.IsZero() || cn.ClosedBy == record.OpenAtEnd {
				return nil
			}
			k := eventsKey{cn.Source, cn.Layer}
			e := d.events[k]
			if e == nil {
				e = &eventsSeen{}
				d.events[k] = e
			}
			e.n++
			if e.n == 1 || cn.IdleBeforeCloseMs > e.maxMs {
				e.maxMs, e.closed = cn.IdleBeforeCloseMs, cn.Closed
			}
			return nil
		}
		d.conns = append(d.conns, record.Conn{Witness: c.Intern(cn.Witness), Source: c.Intern(cn.Source), Layer: c.Intern(cn.Layer),
			Opened: cn.Opened, Closed: cn.Closed, MaxIdleMs: cn.MaxIdleMs, IdleBeforeCloseMs: cn.IdleBeforeCloseMs, ClosedBy: c.Intern(cn.ClosedBy)})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read connections: %w", err)
	}
	d.interval = time.Duration(run.Meta.IntervalMs) * time.Millisecond
	if d.interval <= 0 && sc != nil {
		d.interval = sc.Interval.D()
	}
	if d.interval <= 0 {
		d.interval = scenarios.DefaultInterval.D()
	}
	return d, nil
}

// nodes returns the node names that have samples or meta, sorted.
func (d *runData) nodes() []string {
	set := map[string]bool{}
	for n := range d.meta.Nodes {
		set[n] = true
	}
	for n := range d.samples {
		set[n] = true
	}
	out := make([]string, 0, len(set))
	for n := range set {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// runsOf returns the runs of the scenario phase named base (or of the exact
// run name, e.g. "warm#2"), in start order.
func (d *runData) runsOf(name string) []record.PhaseMeta {
	var out []record.PhaseMeta
	for _, p := range d.meta.Phases {
		if p.Base == name || p.Name == name || (p.Base == "" && strings.SplitN(p.Name, "#", 2)[0] == name) {
			out = append(out, p)
		}
	}
	return out
}

// loadStart is when the first phase that puts load on the SUT started; the
// zero time when no such phase ran.
func (d *runData) loadStart() time.Time {
	for _, p := range d.meta.Phases {
		if p.Kind != "quiet" {
			return p.Start
		}
	}
	return time.Time{}
}

// phaseEnd is the end of p, or the run's end for a phase cut short.
func (d *runData) phaseEnd(p record.PhaseMeta) time.Time {
	if !p.End.IsZero() {
		return p.End
	}
	return d.meta.End
}

// layerTimeout is the idle timeout the SUT is configured with on layer.
// The scenario the run is judged by comes first, so a recheck reads the
// same timeouts as the run; meta.json serves runs without one.
func (d *runData) layerTimeout(layer string) time.Duration {
	if d.sc != nil {
		if l := d.sc.Layers[layer]; l != nil && l.IdleTimeout > 0 {
			return l.IdleTimeout.D()
		}
	}
	if l, ok := d.meta.Layers[layer]; ok && l.IdleTimeoutMs > 0 {
		return time.Duration(l.IdleTimeoutMs) * time.Millisecond
	}
	return 0
}

// layerNode is the node whose sockets make up layer.
func (d *runData) layerNode(layer string) string {
	if l, ok := d.meta.Layers[layer]; ok && l.Node != "" {
		return l.Node
	}
	if d.sc != nil {
		if l := d.sc.Layers[layer]; l != nil {
			return l.Node
		}
	}
	return ""
}

// maxTimeout is the longest idle timeout of any layer.
func (d *runData) maxTimeout() time.Duration {
	var m time.Duration
	for name := range d.meta.Layers {
		m = max(m, d.layerTimeout(name))
	}
	if d.sc != nil {
		for name := range d.sc.Layers {
			m = max(m, d.layerTimeout(name))
		}
	}
	return m
}

// engine is the node's HTTP engine as stated in meta or the scenario.
func (d *runData) engine(node string) string {
	if n, ok := d.meta.Nodes[node]; ok && n.Engine != "" {
		return n.Engine
	}
	if d.sc != nil {
		if n := d.sc.Nodes[node]; n != nil {
			return n.Engine
		}
	}
	return ""
}

// seriesNodes is the nodes a series check looks at: the one named, the
// layer's node, or every node.
func (d *runData) seriesNodes(s metric, node string) []string {
	switch {
	case node != "":
		return []string{node}
	case s.OneLayer() != "":
		return []string{d.layerNode(s.OneLayer())}
	}
	return d.nodes()
}

// clock formats a moment for messages.
func clock(t time.Time) string { return t.Local().Format("15:04:05") }

// secs formats milliseconds as seconds with one decimal.
func secs(ms float64) string { return fmt.Sprintf("%.1fs", ms/1000) }

// baselinePoint is the series' value before load: the last point before the
// first load phase, or, when sampling started with the load (the runner
// starts both together), the first point less than half an interval after
// it, when load has barely begun.
func (d *runData) baselinePoint(pts []point) (point, string, bool) {
	ls := d.loadStart()
	if ls.IsZero() {
		return point{}, "", false
	}
	if p, ok := lastBefore(pts, ls); ok {
		return p, "", true
	}
	if len(pts) > 0 && pts[0].t.Sub(ls) < d.interval/2 {
		return pts[0], fmt.Sprintf("baseline from the first sample, %s after load began", pts[0].t.Sub(ls).Round(time.Millisecond)), true
	}
	return point{}, "", false
}

// nodeInterval is the time between a node's samples: the run's interval,
// or a remote node's coarser query step (its samples are that far apart).
func (d *runData) nodeInterval(node string) time.Duration {
	if rm := d.meta.Nodes[node].Remote; rm != nil {
		return max(d.interval, time.Duration(rm.StepMs)*time.Millisecond)
	}
	return d.interval
}
