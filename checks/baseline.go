package checks

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/soak-dev/soak/record"
	"github.com/soak-dev/soak/scenarios"
)

func init() { register(baseline) }

// DefaultBaselineTolerance is baseline's tolerance when a check sets none.
const DefaultBaselineTolerance = "10%"

// baseline checks that at the end of each run of phase After the series is
// within Tolerance of its value before the first load phase.
func baseline(d *runData, c *scenarios.BaselineCheck) []record.CheckResult {
	s, err := d.parseSeries(c.Series)
	base := record.CheckResult{Name: "baseline/" + c.Series, Kind: "baseline"}
	tol := c.Tolerance
	if tol == "" {
		tol = DefaultBaselineTolerance
	}
	abs, rel, terr := parseTolerance(tol)
	if err == nil {
		err = terr
	}
	if err != nil {
		base.Status, base.Message = record.StatusInconclusive, err.Error()+"; fix the scenario"
		return []record.CheckResult{base}
	}
	base.Unit, base.Layer = s.Unit(), s.OneLayer()
	runs := d.runsOf(c.After)
	var out []record.CheckResult
	for _, n := range d.seriesNodes(s, c.Node) {
		r := base
		r.Node, r.Name = n, base.Name+"/"+n
		samples := d.samples[n]
		pts := s.points(samples, time.Time{}, time.Time{})
		bp, note, ok := d.baselinePoint(pts)
		if note != "" {
			r.Details = append(r.Details, note)
		}
		switch {
		case d.unproduced(s, n) != "":
			r.Status, r.Message = record.StatusInconclusive, d.unproduced(s, n)
		case s.notGo(samples) != "":
			r.Status, r.Message = record.StatusInconclusive, fmt.Sprintf("%s on node %s: %s", c.Series, n, s.notGo(samples))
		case len(runs) == 0:
			r.Status, r.Message = record.StatusInconclusive, fmt.Sprintf("%s: phase %q never ran", c.Series, c.After)
		case !ok:
			r.Status, r.Message = record.StatusInconclusive, fmt.Sprintf("%s on node %s: no sample before load to take the baseline from", c.Series, n)
		}
		if r.Status != "" {
			out = append(out, r)
			continue
		}
		limit := bp.v + math.Max(abs, rel*bp.v)
		r.Limit = limit
		r.Status = record.StatusPass
		for _, p := range runs {
			ep, ok := lastBefore(pts, d.phaseEnd(p))
			if !ok || ep.t.Before(p.Start) {
				r.Status, r.Message = record.StatusInconclusive, fmt.Sprintf("%s on node %s: no sample during %s", c.Series, n, p.Name)
				break
			}
			if ep.v > r.Value || r.At.IsZero() {
				r.Value, r.At = ep.v, ep.t
			}
			if ep.v > limit {
				r.Status = record.StatusFail
				r.Message = fmt.Sprintf("%s on node %s is %g at the end of %s, above its baseline %g + %s; it did not come back after load",
					c.Series, n, ep.v, p.Name, bp.v, tol)
				break
			}
		}
		if r.Status == record.StatusPass {
			r.Message = fmt.Sprintf("%s on node %s back to %g after %s (baseline %g + %s)", c.Series, n, r.Value, c.After, bp.v, tol)
		}
		out = append(out, r)
	}
	return out
}

// parseTolerance reads "5" (absolute) or "10%" (relative).
func parseTolerance(s string) (abs, rel float64, err error) {
	t := strings.TrimSpace(s)
	if p, ok := strings.CutSuffix(t, "%"); ok {
		rel, err = strconv.ParseFloat(strings.TrimSpace(p), 64)
		if err != nil || rel < 0 {
			return 0, 0, fmt.Errorf("tolerance %q is not a percentage", s)
		}
		return 0, rel / 100, nil
	}
	abs, err = strconv.ParseFloat(t, 64)
	if err != nil || abs < 0 {
		return 0, 0, fmt.Errorf("tolerance %q is neither a number nor a percentage", s)
	}
	return abs, 0, nil
}
