package checks

import (
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
