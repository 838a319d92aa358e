package reports

import (
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/soak-dev/soak/record"
)

// The noise model. A figure's noise is how much it moves between windows
// that should be alike: the same phases in different cycles of one run
// (scenario `cycles:`). Each cycle runs the whole phase list in the same
// order, so cycle k's figure (e.g. its peak goroutines) is computed over
// cycle k alone, and the spread is max - min over the cycles. Repetitions
// within a cycle (`repeat:`) are not cycles: `hold#2` right after `hold`
// starts from another state. A run with one cycle has no noise estimate,
// and a rule is judged as written.

// phaseCycles returns the cycle of each phase (same order as ps) and the
// number of cycles. Phases recorded with their cycle (meta.json `cycle`)
// give it; older runs are inferred: a cycle starts again when the first
// phase's base name comes back after another phase ran. A run of one phase
// kind only cannot be told apart from its repeats: one cycle.
func phaseCycles(ps []record.PhaseMeta) ([]int, int) {
	out := make([]int, len(ps))
	if len(ps) == 0 {
		return out, 0
	}
	recorded := true
	for _, p := range ps {
		recorded = recorded && p.Cycle > 0
	}
	n := 0
	if recorded {
		for i, p := range ps {
			out[i] = p.Cycle
			n = max(n, p.Cycle)
		}
		return out, n
	}
	first := phaseBase(ps[0])
	c, other := 1, false
	for i, p := range ps {
		b := phaseBase(p)
		if b == first && other {
			c, other = c+1, false
		}
		if b != first {
			other = true
		}
		out[i] = c
	}
	return out, c
}

func phaseBase(p record.PhaseMeta) string {
	if p.Base != "" {
		return p.Base
	}
	if i := strings.LastIndexByte(p.Name, '#'); i > 0 {
		return p.Name[:i]
	}
	return p.Name
}

// cycleSpread returns the number of cycles and, per figure, the range of
// its per-cycle values (max - min): the noise Compare weighs a difference
// against. Without two cycles it returns no spread.
func cycleSpread(m record.Meta, tl *timeline) (int, map[string]float64) {
	if tl.cycles < 2 {
		return tl.cycles, nil
	}
	perCycle := map[string]map[int]float64{} // figure -> cycle -> value summed over nodes
	addAll := func(fig string, s *track, useMax bool) {
		if s == nil {
			return
		}
		m := perCycle[fig]
		if m == nil {
			m = map[int]float64{}
			perCycle[fig] = m
		}
		for c, v := range s.cycles {
			if useMax {
				m[c] = math.Max(m[c], v)
			} else {
				m[c] += v
			}
		}
	}
	for _, ns := range tl.nodes {
		addAll("goroutines.peak", ns.get(keyGorTotal), false)
		addAll("fd.peak", ns.get(keyFDTotal), false)
		addAll("rss.peak", ns.get(keyRSS), false)
		p := "nodes." + ns.name + "."
		addAll(p+"goroutines.peak", ns.get(keyGorTotal), false)
		addAll(p+"fd.peak", ns.get(keyFDTotal), false)
		addAll(p+"rss.peak", ns.get(keyRSS), false)
	}
	for _, l := range tl.layerNames() {
		for _, node := range ownerNodes(m, tl, l) {
			ns := tl.nodes[node]
			addAll(l+".peak", ns.get(keyEst(l)), false)
			addAll(l+".max_idle", ns.get(keyIdleMax(l)), true)
		}
	}
	spread := map[string]float64{}
	for fig, m := range perCycle {
		if len(m) < 2 {
			continue
		}
		spread[fig] = valueRange(m)
	}
	return tl.cycles, spread
}

// valueRange is max - min of the values of m.
func valueRange(m map[int]float64) float64 {
	vals := make([]float64, 0, len(m))
	for _, v := range m {
		vals = append(vals, v)
	}
	sort.Float64s(vals)
	return vals[len(vals)-1] - vals[0]
}

// noiseOf gives a row its noise: the larger of the two runs' spreads of the
// figure, or, when either run has none, why there is no estimate.
func noiseOf(r *Row, a, b *Summary) {
	switch {
	case a.Cycles < 2 || b.Cycles < 2:
		r.NoNoise = fmt.Sprintf("no noise estimate: run A has %s, run B %s (a spread needs 2 or more cycles)",
			plural(a.Cycles, "cycle"), plural(b.Cycles, "cycle"))
		return
	}
	sa, okA := a.Spread[r.Figure]
	sb, okB := b.Spread[r.Figure]
	if !okA || !okB {
		r.NoNoise = "no noise estimate: the figure has no per-cycle value in both runs"
		return
	}
	r.Noise, r.HasNoise = math.Max(sa, sb), true
	r.WithinNoise = math.Abs(r.Change) <= r.Noise
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}
