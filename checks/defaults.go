package checks

import (
	"sort"
	"time"

	"github.com/soak-dev/soak/scenarios"
)

// CloseWaitSlack is added to a layer's idle timeout to make the default
// close_wait limit: a healthy SUT closes its side of a connection at once,
// so anything near the idle timeout is already a leak.
const CloseWaitSlack = time.Second

// Defaults returns the checks a scenario gets when its expect list is
// empty: for every layer reclaim, close_wait (max age = idle timeout +
// CloseWaitSlack) and, when the scenario has a quiet phase, drain after the
// last one; for every node no_growth of goroutines and fds over the phases
// that run more than once (or over all load phases when none repeats, which
// is inconclusive unless the run is long enough).
func Defaults(sc *scenarios.Scenario) []*scenarios.Expectation {
	if sc == nil {
		return nil
	}
	var out []*scenarios.Expectation
	lastQuiet := ""
	for _, p := range sc.Phases {
		if p != nil && p.Quiet != nil {
			lastQuiet = p.Name
		}
	}
	layers := make([]string, 0, len(sc.Layers))
	for name := range sc.Layers {
		layers = append(layers, name)
	}
	sort.Strings(layers)
	for _, name := range layers {
		out = append(out, &scenarios.Expectation{Reclaim: &scenarios.ReclaimCheck{Layer: name}})
		if lastQuiet != "" {
			out = append(out, &scenarios.Expectation{Drain: &scenarios.DrainCheck{Layer: name, After: lastQuiet}})
		}
		maxAge := scenarios.Duration(CloseWaitSlack)
		if l := sc.Layers[name]; l != nil {
			maxAge += l.IdleTimeout
		}
		out = append(out, &scenarios.Expectation{CloseWait: &scenarios.CloseWaitCheck{Layer: name, MaxAge: maxAge}})
	}
	var repeated, load []string
	for _, p := range sc.Phases {
		if p == nil || p.Request != nil || p.Exec != nil {
			continue // setup steps put no load
		}
		if p.Repeat > 1 || sc.Cycles > 1 {
			repeated = append(repeated, p.Name)
		}
		if p.Quiet == nil {
			load = append(load, p.Name)
		}
	}
	during := repeated
	if len(during) == 0 {
		during = load
	}
	nodes := make([]string, 0, len(sc.Nodes))
	for name := range sc.Nodes {
		nodes = append(nodes, name)
	}
	sort.Strings(nodes)
	for _, n := range nodes {
		for _, s := range []string{"goroutines", "fds"} {
			out = append(out, &scenarios.Expectation{NoGrowth: &scenarios.NoGrowthCheck{Series: s, Node: n, During: during}})
		}
	}
	return out
}
