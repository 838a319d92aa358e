package reports

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"

	"github.com/soak-dev/soak/reclaimed"
	"github.com/soak-dev/soak/record"
)

// Table is the one-page A-vs-B answer per layer: first a sentence per layer
// ("streams: reclaimed after 10.0 s (A) vs 29.5 s (B)"), then every figure
// of those sentences with its --fail-on name, the change and the noise,
// then the run-wide figures and the checks that differ. ci/ab-builds ends
// with it; soak compare prints it.
func (c *Comparison) Table() string {
	var b strings.Builder
	a, bb := c.A, c.B
	fmt.Fprintf(&b, "A: %s\nB: %s\n", c.DirA, c.DirB)
	for _, n := range c.Notes {
		fmt.Fprintf(&b, "note: %s\n", n)
	}
	b.WriteString("\n")
	layers := map[string]bool{}
	for l := range a.Layers {
		layers[l] = true
	}
	for l := range bb.Layers {
		layers[l] = true
	}
	delete(layers, record.LayerOther)
	names := slices.Sorted(maps.Keys(layers))
	for _, l := range names {
		la, lb := a.Layers[l], bb.Layers[l]
		node := la.Node
		if node == "" {
			node = lb.Node
		}
		fmt.Fprintf(&b, "%s (node %s): %s\n", l, orDash(node), reclaimSentence(la, lb))
		fmt.Fprintf(&b, "%s: %s vs %s goroutines per idle connection, %s vs %s FDs%s\n", l,
			perConnText(la.PerIdleConn, false), perConnText(lb.PerIdleConn, false),
			perConnText(la.PerIdleConn, true), perConnText(lb.PerIdleConn, true), perConnSource(la.PerIdleConn, lb.PerIdleConn))
	}
	b.WriteString("\n")
	rows := map[string]*Row{}
	for i := range c.Rows {
		rows[c.Rows[i].Figure] = &c.Rows[i]
	}
	fmt.Fprintf(&b, "%-40s %12s %12s %10s %10s\n", "figure (--fail-on name)", "A", "B", "change", "noise")
	line := func(fig string) {
		r := rows[fig]
		if r == nil {
			return
		}
		va, vb := tableNum(r.A, r.BoundA, r.MissingA), tableNum(r.B, r.BoundB, r.MissingB)
		ch := "-"
		if !r.MissingA && !r.MissingB {
			ch = signed(r.Change)
			if r.HasPercent && math.Abs(r.Percent) >= 0.05 {
				ch += fmt.Sprintf(" (%+.0f%%)", r.Percent)
			}
		}
		noise := "none"
		if r.HasNoise {
			noise = "±" + formatNum(r.Noise)
		}
		fmt.Fprintf(&b, "%-40s %12s %12s %10s %10s\n", fig, va, vb, ch, noise)
	}
	for _, l := range names {
		for _, f := range []string{".reclaimed_after", ".reclaimed_after_p90", ".reclaimed_after_max", ".max_idle",
			".goroutines_per_idle_conn", ".fds_per_idle_conn", ".peak"} {
			line(l + f)
		}
	}
	for _, n := range slices.Sorted(maps.Keys(summaryNodes(a, bb))) {
		line("nodes." + n + ".goroutines.peak")
		line("nodes." + n + ".fd.peak")
	}
	for _, f := range []string{"goroutines.peak", "fd.peak", "load.rate", "load.p99", "load.error_rate"} {
		line(f)
	}
	var differ []string
	for _, cr := range c.Checks {
		if cr.A != cr.B {
			differ = append(differ, fmt.Sprintf("%s %s -> %s", cr.Name, orDash(cr.A), orDash(cr.B)))
		}
	}
	if len(differ) == 0 {
		b.WriteString("\nchecks: none differ\n")
	} else {
		b.WriteString("\nchecks that differ: " + strings.Join(differ, "; ") + "\n")
	}
	if a.Cycles < 2 || bb.Cycles < 2 {
		fmt.Fprintf(&b, "noise: none (cycles: A %d, B %d; a spread needs 2 or more): rules are judged as written\n", a.Cycles, bb.Cycles)
	}
	for _, r := range c.Rules {
		mark := "ok"
		if r.Tripped {
			mark = "TRIPPED"
		}
		fmt.Fprintf(&b, "%-8s %s: %s\n", mark, r.Rule, r.Message)
	}
	return b.String()
}

// reclaimSentence says "reclaimed after 10.0 s (A) vs 29.5 s (B)", with
// the witness, or a lower bound where the SUT was never seen closing.
func reclaimSentence(la, lb LayerSummary) string {
	ra, okA := reclaimed.Best(la.Reclaimed)
	rb, okB := reclaimed.Best(lb.Reclaimed)
	if !okA && !okB {
		return "no idle close seen in either run"
	}
	side := func(r record.Reclaimed, ok bool, run string) string {
		if !ok {
			return "nothing seen (" + run + ")"
		}
		if r.Measured() {
			return fmt.Sprintf("%.1f s (%s, %s, %d closes)", r.MedianS, run, r.Witness, r.Count)
		}
		if r.LowerBoundCount > 0 {
			return fmt.Sprintf(">= %.1f s, %s (%s, %s)", r.LowerBoundS, r.LowerBoundWhy, run, r.Witness)
		}
		return "nothing seen (" + run + ")"
	}
	return "reclaimed after " + side(ra, okA, "A") + " vs " + side(rb, okB, "B")
}

func perConnText(p *PerIdleConn, fds bool) string {
	switch {
	case p == nil:
		return "?"
	case fds && !p.HasFDs:
		return "?"
	case fds:
		return fmt.Sprintf("~%.1f", p.FDs)
	}
	return fmt.Sprintf("~%.1f", p.Goroutines)
}

// perConnSource says where the estimates came from, or why there are none.
func perConnSource(pa, pb *PerIdleConn) string {
	desc := func(p *PerIdleConn, run string) string {
		if p == nil {
			return run + ": no step (no moment when only this layer's connections opened or closed, outside load)"
		}
		return fmt.Sprintf("%s: %d steps, %d conns, goroutines %.1f..%.1f, %s", run, p.Events, p.Conns, p.GoroutinesMin, p.GoroutinesMax, p.Source)
	}
	return " (" + desc(pa, "A") + "; " + desc(pb, "B") + ")"
}

func summaryNodes(a, b *Summary) map[string]bool {
	out := map[string]bool{}
	for n := range a.Nodes {
		out[n] = true
	}
	for n := range b.Nodes {
		out[n] = true
	}
	return out
}

func tableNum(v float64, bound, missing bool) string {
	switch {
	case missing:
		return "-"
	case bound:
		return ">= " + formatNum(v)
	}
	return formatNum(v)
}

func signed(v float64) string {
	if v > 0 {
		return "+" + formatNum(v)
	}
	return formatNum(v)
}
