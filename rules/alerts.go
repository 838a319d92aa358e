package rules

import (
	"fmt"

	"github.com/soak-dev/soak/checks"
	"github.com/soak-dev/soak/scenarios"
)

// expectation adds the alert of one check, or notes why it has none.
func (g *gen) expectation(e *scenarios.Expectation) error {
	switch {
	case e == nil:
		return nil
	case e.Reclaim != nil:
		return g.reclaim(e.Reclaim)
	case e.CloseWait != nil:
		g.closeWait(e.CloseWait)
	case e.NoGrowth != nil:
		return g.noGrowth(e.NoGrowth)
	case e.Ratio != nil:
		return g.ratio(e.Ratio)
	case e.Max != nil:
		return g.max(e.Max)
	case e.Drain != nil:
		g.skipped = append(g.skipped, fmt.Sprintf("drain/%s: judged at the end of phase %s of a run; production has no phases", e.Drain.Layer, e.Drain.After))
	case e.Baseline != nil:
		g.skipped = append(g.skipped, fmt.Sprintf("baseline/%s: judged against the level before a run's load; production has no such moment", e.Baseline.Series))
	case e.Load != nil:
		g.skipped = append(g.skipped, "load: thresholds on the load soak puts, not on the server's metrics")
	}
	return nil
}

// reclaim: the exporter reads each ESTABLISHED socket's idle age from the
// kernel at every scrape, so one scrape past timeout + tolerance is
// certain: the alert fires at once. The default tolerance is the check's
// without the kernel event witness (one scenario interval + 500 ms).
func (g *gen) reclaim(c *scenarios.ReclaimCheck) error {
	l := g.sc.Layers[c.Layer]
	if l == nil {
		return fmt.Errorf("reclaim: unknown layer %q", c.Layer)
	}
	within := c.Within.D()
	if within <= 0 {
		within = l.IdleTimeout.D()
	}
	tol, tolWhy := c.Tolerance.D(), "set in the scenario"
	if tol <= 0 {
		tol = g.sc.Interval.D() + checks.DefaultReclaimSlack
		tolWhy = fmt.Sprintf("default: one interval %s + %s", g.sc.Interval.D(), checks.DefaultReclaimSlack)
	}
	limit := within + tol
	g.alert(Rule{
		Alert: "SoakIdleConnectionNotReclaimed",
		Expr:  fmt.Sprintf("max by (node, pid, layer) (soak_socket_idle_max_seconds{layer=%s}) > %s", quote(c.Layer), seconds(limit)),
		Annotations: map[string]string{
			"summary": "soak: an idle {{ $labels.layer }} connection of {{ $labels.node }} is not reclaimed",
			"description": fmt.Sprintf("A connection of layer {{ $labels.layer }} on node {{ $labels.node }} (pid {{ $labels.pid }}) has been idle {{ $value | humanizeDuration }}, "+
				"past the idle timeout %s + tolerance %s (%s): the server does not close idle connections of this layer.", within, tol, tolWhy),
		},
	}, "reclaim/"+c.Layer)
	return nil
}

// closeWait: the exporter ages each CLOSE_WAIT socket from the scrape
// that first saw it; past max_age the server forgot to close its side.
func (g *gen) closeWait(c *scenarios.CloseWaitCheck) {
	var m matchers
	m.add("layer", c.Layer)
	name := "close_wait"
	if c.Layer != "" {
		name += "/" + c.Layer
	}
	g.alert(Rule{
		Alert: "SoakCloseWaitAging",
		Expr:  fmt.Sprintf("max by (node, pid, layer) (soak_socket_close_wait_max_age_seconds%s) > %s", m, seconds(c.MaxAge.D())),
		Annotations: map[string]string{
			"summary": "soak: a {{ $labels.layer }} socket of {{ $labels.node }} sits in CLOSE_WAIT",
			"description": fmt.Sprintf("A socket of layer {{ $labels.layer }} on node {{ $labels.node }} (pid {{ $labels.pid }}) has been in CLOSE_WAIT {{ $value | humanizeDuration }} (limit %s): "+
				"the peer closed and the server never closed its side (an unclosed body, a forgotten connection).", c.MaxAge.D()),
		},
	}, name)
}

// noGrowth: PromQL has no Mann-Kendall test; deriv() (least squares over
// the window) stands in, with the check's own guards against a tiny
// drift: the rise over the window is at least 1 (1 MiB for rss) and over
// 5% of the window's mean level. The condition must hold for a quarter of
// the window, so one burst inside it does not fire.
func (g *gen) noGrowth(c *scenarios.NoGrowthCheck) error {
	x, err := g.seriesExpr(c.Series, c.Node)
	if err != nil {
		return fmt.Errorf("no_growth: %w", err)
	}
	w := g.o.GrowthWindow
	win := promDuration(w)
	minRise := 1.0
	if c.Series == "rss" {
		minRise = 1 << 20
	}
	slope := fmt.Sprintf("deriv(%s[%s])", x, win)
	// The value is the slope per hour; the rise is the slope times the window.
	expr := fmt.Sprintf("%s * 3600 > %g\nand %s * %g >= %g\nand %s * %g > 0.05 * avg_over_time(%s[%s])",
		slope, c.MaxRate, slope, w.Seconds(), minRise, slope, w.Seconds(), x, win)
	name := "no_growth/" + c.Series
	if c.Node != "" {
		name += "/" + c.Node
	}
	g.alert(Rule{
		Alert:  "SoakSeriesGrowing",
		Expr:   expr,
		For:    promDuration(w / 4),
		Labels: map[string]string{"series": c.Series},
		Annotations: map[string]string{
			"summary": fmt.Sprintf("soak: %s of {{ $labels.node }} keeps growing", c.Series),
			"description": fmt.Sprintf("%s of node {{ $labels.node }} (pid {{ $labels.pid }}) grew {{ $value | printf \"%%.1f\" }} per hour over the last %s (least squares; allowed %g per hour), "+
				"for %s: a leak grows under steady load, a healthy server levels off.", c.Series, win, c.MaxRate, promDuration(w/4)),
		},
	}, name)
	return nil
}

// ratio: the check subtracts the numerator's level before load; in
// production the lowest level over the window stands for it. Where the
// connections never drop, that lowest level still holds some of their
// goroutines, which lowers the ratio: the alert errs towards silence,
// never towards a false alarm.
func (g *gen) ratio(c *scenarios.RatioCheck) error {
	num, err := g.seriesExpr(c.Numerator, c.Node)
	if err != nil {
		return fmt.Errorf("ratio: numerator: %w", err)
	}
	den, err := g.seriesExpr(c.Denominator, c.Node)
	if err != nil {
		return fmt.Errorf("ratio: denominator: %w", err)
	}
	minDen := c.MinDenominator
	if minDen <= 0 {
		minDen = 10
	}
	win := promDuration(g.o.GrowthWindow)
	expr := fmt.Sprintf("(%s - min_over_time(%s[%s]))\n  / on (node, pid) %s > %g\nand on (node, pid) %s >= %d",
		num, num, win, den, c.Max, den, minDen)
	g.alert(Rule{
		Alert:  "SoakRatioHigh",
		Expr:   expr,
		For:    "5m",
		Labels: map[string]string{"numerator": c.Numerator, "denominator": c.Denominator},
		Annotations: map[string]string{
			"summary": fmt.Sprintf("soak: %s per %s of {{ $labels.node }} above %g", c.Numerator, c.Denominator, c.Max),
			"description": fmt.Sprintf("Node {{ $labels.node }} (pid {{ $labels.pid }}) holds {{ $value | printf \"%%.2f\" }} %s above their lowest level of the last %s per %s (limit %g, with at least %d), for 5m: "+
				"each connection holds more than it should.", c.Numerator, win, c.Denominator, c.Max, minDen),
		},
	}, "ratio/"+c.Numerator+"/"+c.Denominator)
	return nil
}

// max: one scrape over the value is the check's own failure.
func (g *gen) max(c *scenarios.MaxCheck) error {
	x, err := g.seriesExpr(c.Series, c.Node)
	if err != nil {
		return fmt.Errorf("max: %w", err)
	}
	g.alert(Rule{
		Alert:  "SoakSeriesOverMax",
		Expr:   fmt.Sprintf("%s > %g", x, c.Value),
		Labels: map[string]string{"series": c.Series},
		Annotations: map[string]string{
			"summary":     fmt.Sprintf("soak: %s of {{ $labels.node }} over %g", c.Series, c.Value),
			"description": fmt.Sprintf("%s of node {{ $labels.node }} (pid {{ $labels.pid }}) is {{ $value }}, over its limit %g.", c.Series, c.Value),
		},
	}, "max/"+c.Series)
	return nil
}
