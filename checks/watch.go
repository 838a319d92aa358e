package checks

import (
	"fmt"
	"slices"
	"sort"
	"time"

	"github.com/soak-dev/soak/record"
	"github.com/soak-dev/soak/scenarios"
	"github.com/soak-dev/soak/series"
)

// LoadWindow is the window over which a load threshold is judged during a
// run (abort_on_fail), and LoadWindowMin the fewest requests it needs.
const (
	LoadWindow    = 5 * time.Second
	LoadWindowMin = 20
)

// Watch judges, while a run goes on, the checks that may stop it early
// (abort_on_fail, or all with --fail-fast), one sample or load window at a
// time. It reports a check only once it has certainly failed: a failure no
// later sample can undo (a value over a max, a CLOSE_WAIT or idle age past
// its limit, a load error rate broken over a whole window). Kinds judged on
// the whole run (no_growth, drain, ratio, baseline) are left to the end.
// Not safe for concurrent use.
type Watch struct {
	sc       *scenarios.Scenario
	interval time.Duration
	watched  []*scenarios.Expectation
	comp     *series.Compactor
}

// NewWatch returns a Watch of sc's checks that say abort_on_fail (all of
// them when all is set), or nil when there is none to watch.
func NewWatch(sc *scenarios.Scenario, all bool) *Watch {
	if sc == nil {
		return nil
	}
	expect := Defaults(sc)
	if len(sc.Expect) > 0 {
		expect = sc.Expect
	}
	expect = append(slices.Clip(expect), loadGuards(sc, expect)...)
	w := &Watch{sc: sc, interval: sc.Interval.D(), comp: series.NewCompactor()}
	if w.interval <= 0 {
		w.interval = scenarios.DefaultInterval.D()
	}
	for _, e := range expect {
		if e != nil && (all || e.AbortOnFail) {
			w.watched = append(w.watched, e)
		}
	}
	if len(w.watched) == 0 {
		return nil
	}
	return w
}

// Sample judges the watched checks on one sample of node; a non-nil result
// is the first that has certainly failed.
func (w *Watch) Sample(node string, s record.Sample) *record.CheckResult {
	smp := w.comp.Compact(s)
	for _, e := range w.watched {
		if r := w.sample(e, node, &smp); r != nil {
			return r
		}
	}
	return nil
}

func (w *Watch) sample(e *scenarios.Expectation, node string, smp *series.Sample) *record.CheckResult {
	layerNode := func(l string) string {
		if ly := w.sc.Layers[l]; ly != nil {
			return ly.Node
		}
		return ""
	}
	timeout := func(l string) time.Duration {
		if ly := w.sc.Layers[l]; ly != nil {
			return ly.IdleTimeout.D()
		}
		return 0
	}
	switch {
	case e.Max != nil:
		c := e.Max
		n, err := series.Check(c.Series, w.sc.LayerNames())
		if err != nil || (c.Node != "" && c.Node != node) || (c.Node == "" && n.OneLayer() != "" && layerNode(n.OneLayer()) != node) {
			return nil
		}
		if v, ok := n.Value(smp); ok && v > c.Value {
			return &record.CheckResult{Name: "max/" + c.Series + "/" + node, Kind: "max", Status: record.StatusFail, Node: node,
				Value: v, Limit: c.Value, At: smp.Time, Unit: n.Unit(),
				Message: fmt.Sprintf("%s on node %s reached %g (limit %g) at %s", c.Series, node, v, c.Value, clock(smp.Time))}
		}
	case e.CloseWait != nil && smp.Sockets != nil:
		c := e.CloseWait
		if c.Layer != "" && layerNode(c.Layer) != node {
			return nil
		}
		for _, l := range w.layersIn(smp, c.Layer) {
			limit := c.MaxAge.D()
			if limit == 0 {
				limit = timeout(l.Name) + CloseWaitSlack
			}
			if age := time.Duration(l.CloseWaitMaxAgeMs) * time.Millisecond; age > limit {
				return &record.CheckResult{Name: "close_wait/" + c.Layer, Kind: "close_wait", Status: record.StatusFail, Node: node, Layer: l.Name,
					Value: age.Seconds(), Limit: limit.Seconds(), Unit: "s", At: smp.Time.Add(-age),
					Message: fmt.Sprintf("%s: a socket sat in CLOSE_WAIT %s (limit %s) on node %s; the peer closed but the SUT never closed its side",
						l.Name, secs(float64(age.Milliseconds())), limit, node)}
			}
		}
	case e.Reclaim != nil && smp.Sockets != nil:
		c := e.Reclaim
		if layerNode(c.Layer) != node {
			return nil
		}
		limit, tol := c.Within.D(), c.Tolerance.D()
		if limit == 0 {
			limit = timeout(c.Layer)
		}
		if tol == 0 {
			tol = w.interval + DefaultReclaimSlack
		}
		for _, l := range w.layersIn(smp, c.Layer) {
			// Only the kernel's own idle ages: an estimate is not certain.
			if l.Idle == nil || l.Idle.Estimated || limit == 0 {
				continue
			}
			if idle := time.Duration(l.Idle.Max) * time.Millisecond; idle > limit+tol {
				return &record.CheckResult{Name: "reclaim/" + c.Layer, Kind: "reclaim", Status: record.StatusFail, Node: node, Layer: c.Layer,
					Value: idle.Seconds(), Limit: (limit + tol).Seconds(), Unit: "s", At: smp.Time.Add(-idle),
					Message: fmt.Sprintf("%s: a connection sat idle %s (limit %s + %s) on node %s (seen by kernel); the SUT did not reclaim it",
						c.Layer, secs(float64(idle.Milliseconds())), limit, tol, node)}
			}
		}
	}
	return nil
}

// layersIn returns the sample's layers named layer (all when "").
func (w *Watch) layersIn(smp *series.Sample, layer string) []series.LayerCounts {
	var out []series.LayerCounts
	for _, l := range smp.Sockets.Layers {
		if layer == "" || l.Name == layer {
			out = append(out, l)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Load judges the watched load checks' error_rate on one window of the
// phase run that is going on (its scenario phase base): requests sent and
// failed in the last LoadWindow.
func (w *Watch) Load(phase, base, kind string, requests, failed int64, window time.Duration) *record.CheckResult {
	if requests < LoadWindowMin || !slices.Contains(rateDriven, kind) {
		return nil
	}
	for _, e := range w.watched {
		c := e.Load
		if c == nil || (c.Phase != "" && c.Phase != base) || c.Target != "" || c.ErrorRate == "" {
			continue
		}
		op, limit, err := c.ErrorRate.Parse(true)
		if err != nil {
			continue
		}
		rate := float64(failed) / float64(requests)
		if !scenarios.Holds(op, rate, limit) {
			return &record.CheckResult{Name: "load/" + phase, Kind: "load", Status: record.StatusFail, Value: rate * 100, Limit: limit * 100, Unit: "%",
				Message: fmt.Sprintf("phase %s: error_rate %.1f%% over the last %s (%d of %d requests failed; limit %s)",
					phase, rate*100, window.Round(time.Second), failed, requests, c.ErrorRate)}
		}
	}
	return nil
}
