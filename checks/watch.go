package checks

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/soak-dev/soak/internal/stats"
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
	// Lateness, when set, is the timer lateness the run has measured so
	// far. A reclaim check's default tolerance adds it (capped at the
	// timeout), as the check at the run's end adds the whole run's: a
	// healthy layer on a late machine is not stopped for its late close.
	Lateness func() time.Duration

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
		tolNote := ""
		if tol == 0 {
			late := w.lateness(limit)
			tol = w.interval + DefaultReclaimSlack + late
			if late > 0 {
				tolNote = fmt.Sprintf(", with %s timer lateness seen so far", late)
			}
		}
		for _, l := range w.layersIn(smp, c.Layer) {
			// Only the kernel's own idle ages: an estimate is not certain.
			if l.Idle == nil || l.Idle.Estimated || limit == 0 {
				continue
			}
			if idle := time.Duration(l.Idle.Max) * time.Millisecond; idle > limit+tol {
				return &record.CheckResult{Name: "reclaim/" + c.Layer, Kind: "reclaim", Status: record.StatusFail, Node: node, Layer: c.Layer,
					Value: idle.Seconds(), Limit: (limit + tol).Seconds(), Unit: "s", At: smp.Time.Add(-idle),
					Message: fmt.Sprintf("%s: a connection sat idle %s (limit %s + %s%s) on node %s (seen by kernel); the SUT did not reclaim it",
						c.Layer, secs(float64(idle.Milliseconds())), limit, tol, tolNote, node)}
			}
		}
	}
	return nil
}

// lateness is the timer lateness seen so far, capped at limit (as
// checks.reclaim caps the run's).
func (w *Watch) lateness(limit time.Duration) time.Duration {
	if w.Lateness == nil {
		return 0
	}
	return min(max(w.Lateness(), 0), limit)
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

// LoadSpan is the load of the phase run going on, over the last
// LoadWindow, as the runner measured it live (load.Live).
type LoadSpan struct {
	// Phase is the run ("warm#2"), Base its scenario phase ("warm").
	Phase, Base, Kind string
	Span              time.Duration
	// Planned is how many requests the pacing planned in the span (0:
	// unbounded, or unknown).
	Planned float64
	Targets []TargetSpan
}

// TargetSpan is one target's load over the span: requests sent, answered
// (Done) and failed, their latencies, and the longest since the run began.
type TargetSpan struct {
	Target             string
	Sent, Done, Failed int64
	Latency            stats.Hist
	Max                time.Duration
}

// Load judges the watched load checks on one span of the phase run going
// on. A threshold fails only where the span makes it certain: error_rate,
// p50, p90, p99 (judged on the bound of the latency bucket that favours
// the SUT) and rate over a whole window of at least LoadWindowMin requests;
// max as soon as one request took longer than it allows.
func (w *Watch) Load(span LoadSpan) *record.CheckResult {
	if !slices.Contains(rateDriven, span.Kind) {
		return nil
	}
	for _, e := range w.watched {
		c := e.Load
		if c == nil || (c.Phase != "" && c.Phase != span.Base) {
			continue
		}
		t, planned, ok := w.narrow(span, c.Target)
		if !ok {
			continue
		}
		if r := judgeSpan(span, c, t, planned); r != nil {
			if c.Target == "" && len(span.Targets) > 1 {
				r.Message += "; by target: " + spanTargets(span)
			}
			return r
		}
	}
	return nil
}

// narrow sums span's targets, or picks the one named target, with its
// share of the planned requests.
func (w *Watch) narrow(span LoadSpan, target string) (TargetSpan, float64, bool) {
	if target == "" {
		var sum TargetSpan
		for _, t := range span.Targets {
			sum.Sent, sum.Done, sum.Failed = sum.Sent+t.Sent, sum.Done+t.Done, sum.Failed+t.Failed
			sum.Max = max(sum.Max, t.Max)
			for i, n := range t.Latency {
				sum.Latency[i] += n
			}
		}
		return sum, span.Planned, true
	}
	for _, t := range span.Targets {
		if t.Target == target {
			share := 0.0
			for _, p := range w.sc.Phases {
				if r := p.Requests(); p != nil && p.Name == span.Base && r != nil {
					share = r.Share(target)
				}
			}
			return t, span.Planned * share, true
		}
	}
	return TargetSpan{}, 0, false
}

// spanTargets gives each target's failures and p99 over the span, so an
// early stop of a phase-wide check says which target broke it.
func spanTargets(span LoadSpan) string {
	var parts []string
	for _, t := range span.Targets {
		s := fmt.Sprintf("%q %d of %d failed", t.Target, t.Failed, t.Done)
		if lo, _, ok := t.Latency.Quantile(0.99); ok {
			s += fmt.Sprintf(", p99 >= %s", lo.Round(time.Millisecond/10))
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, "; ")
}

func judgeSpan(span LoadSpan, c *scenarios.LoadCheck, t TargetSpan, planned float64) *record.CheckResult {
	name, what := "load/"+span.Phase, "phase "+span.Phase
	if c.Target != "" {
		name, what = name+"/"+c.Target, what+", target "+c.Target
	}
	over := fmt.Sprintf("over the last %s", span.Span.Round(time.Second))
	fail := func(v, limit float64, unit, msg string) *record.CheckResult {
		return &record.CheckResult{Name: name, Kind: "load", Status: record.StatusFail, Value: v, Limit: limit, Unit: unit,
			Message: what + ": " + msg}
	}
	full := t.Done >= LoadWindowMin
	for _, th := range c.Thresholds() {
		if th.Expr == "" {
			continue
		}
		op, limit, err := th.Expr.Parse(th.Percent)
		if err != nil {
			continue
		}
		below := op == "<" || op == "<="
		switch th.Field {
		case "error_rate":
			if rate := float64(t.Failed) / float64(t.Done); full && !scenarios.Holds(op, rate, limit) {
				return fail(rate*100, limit*100, "%", fmt.Sprintf("error_rate %.1f%% %s (%d of %d requests failed; limit %s)",
					rate*100, over, t.Failed, t.Done, th.Expr))
			}
		case "p50", "p90", "p99":
			q := map[string]float64{"p50": 0.5, "p90": 0.9, "p99": 0.99}[th.Field]
			lo, hi, ok := t.Latency.Quantile(q)
			v, bound := hi, "below"
			if below {
				v, bound = lo, "at least"
			}
			if ms := float64(v) / float64(time.Millisecond); full && ok && !scenarios.Holds(op, ms, limit) {
				return fail(ms, limit, "ms", fmt.Sprintf("%s %s %s %s (%d requests; limit %s)",
					th.Field, bound, v.Round(time.Millisecond/10), over, t.Done, th.Expr))
			}
		case "max":
			// Only an upper limit is certain before the end: the longest can still grow.
			if ms := float64(t.Max) / float64(time.Millisecond); below && t.Done > 0 && !scenarios.Holds(op, ms, limit) {
				return fail(ms, limit, "ms", fmt.Sprintf("max %s: a request took longer than the limit %s allows",
					t.Max.Round(time.Millisecond/10), th.Expr))
			}
		case "rate":
			if v := float64(t.Sent) / planned; planned >= LoadWindowMin && !scenarios.Holds(op, v, limit) {
				return fail(v*100, limit*100, "%", fmt.Sprintf("rate %.1f%% of the %.0f planned %s (%d sent; limit %s)",
					v*100, planned, over, t.Sent, th.Expr))
			}
		}
	}
	return nil
}
