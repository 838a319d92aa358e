package reports

import (
	"time"

	"github.com/soak-dev/soak/reclaimed"
)

// cycleAt returns the cycle of the phase running at t (0: none, or a run
// of fewer than 2 cycles), for folds that count per cycle.
func (tl *timeline) cycleAt(t time.Time) int {
	if p := tl.phaseAt(t); p >= 0 {
		return tl.cycle[p]
	}
	return 0
}

// addReclaimed puts each layer's effective idle timeout into the summary:
// per witness in the layer, and as figures from the witness that times a
// close best (backend or client ledger, else the kernel):
// <layer>.reclaimed_after (median), _p90, _max, and
// <layer>.reclaimed_after.<witness>. Where no witness saw the SUT close an
// idle connection, <layer>.reclaimed_after is the lower bound and is
// listed in Summary.LowerBounds, so a comparison never takes it for a
// measurement.
func addReclaimed(s *Summary, f *reclaimed.Fold, cycles int) {
	if f == nil {
		return
	}
	for layer, rs := range f.Result() {
		ls := s.Layers[layer]
		ls.Reclaimed = rs
		s.Layers[layer] = ls
		best, ok := reclaimed.Best(rs)
		if !ok {
			continue
		}
		fig := layer + ".reclaimed_after"
		if !best.Measured() {
			if best.LowerBoundCount > 0 {
				s.Figures[fig] = best.LowerBoundS
				s.LowerBounds = append(s.LowerBounds, fig)
			}
			continue
		}
		s.Figures[fig], s.Figures[fig+"_p90"], s.Figures[fig+"_max"] = best.MedianS, best.P90S, best.MaxS
		for _, r := range rs {
			if r.Measured() {
				s.Figures[fig+"."+r.Witness] = r.MedianS
			}
		}
		if cycles >= 2 {
			if m := f.CycleMedians(layer, best.Witness); len(m) >= 2 {
				if s.Spread == nil {
					s.Spread = map[string]float64{}
				}
				s.Spread[fig] = valueRange(m)
			}
		}
	}
}

// lowerBound reports whether fig is only a lower bound in s.
func (s *Summary) lowerBound(fig string) bool {
	for _, f := range s.LowerBounds {
		if f == fig {
			return true
		}
	}
	return false
}
