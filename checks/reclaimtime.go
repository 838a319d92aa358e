package checks

import (
	"fmt"
	"strings"

	"github.com/soak-dev/soak/reclaimed"
	"github.com/soak-dev/soak/record"
)

// addReclaimed gives a reclaim check the layer's effective idle timeout as
// each witness measured it (see package reclaimed): in verdict.json
// (Reclaimed) and one line per witness in Details. It does not change the
// status: the check judges the longest idle age; this says how long the
// SUT actually waited before closing.
func (d *runData) addReclaimed(layer string, r *record.CheckResult) {
	if d.reclaim == nil {
		return
	}
	rs := d.reclaim.Result()[layer]
	r.Reclaimed = rs
	for _, x := range rs {
		r.Details = append(r.Details, "effective idle timeout: "+reclaimed.Text(x))
	}
}

// reclaimedTable is the summary.md section of effective idle timeouts:
// one row per layer and witness.
func reclaimedTable(v record.Verdict) string {
	var b strings.Builder
	for _, c := range v.Checks {
		for _, x := range c.Reclaimed {
			if b.Len() == 0 {
				b.WriteString("\n### Effective idle timeouts\n\n| layer | witness | reclaimed after (median) | p90 | max | closed by the SUT | lower bound |\n|---|---|---|---|---|---|---|\n")
			}
			med, p90, mx := "-", "-", "-"
			if x.Measured() {
				med, p90, mx = fmt.Sprintf("%.1f s", x.MedianS), fmt.Sprintf("%.1f s", x.P90S), fmt.Sprintf("%.1f s", x.MaxS)
			}
			lb := "-"
			if x.LowerBoundCount > 0 {
				lb = fmt.Sprintf(">= %.1f s, %s (%d)", x.LowerBoundS, x.LowerBoundWhy, x.LowerBoundCount)
			}
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %d | %s |\n", cell(x.Layer), cell(x.Witness), med, p90, mx, x.Count, cell(lb))
		}
	}
	return b.String()
}
