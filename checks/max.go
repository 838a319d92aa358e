package checks

import (
	"fmt"
	"time"

	"github.com/soak-dev/soak/record"
	"github.com/soak-dev/soak/scenarios"
)

func init() { register(maxCheck) }

// maxCheck checks that a series never exceeds Value, per node.
func maxCheck(d *runData, c *scenarios.MaxCheck) []record.CheckResult {
	s, err := d.parseSeries(c.Series)
	base := record.CheckResult{Name: "max/" + c.Series, Kind: "max", Limit: c.Value}
	if err != nil {
		base.Status, base.Message = record.StatusInconclusive, err.Error()+"; fix the scenario"
		return []record.CheckResult{base}
	}
	base.Unit, base.Layer = s.Unit(), s.OneLayer()
	var out []record.CheckResult
	for _, n := range d.seriesNodes(s, c.Node) {
		r := base
		r.Node, r.Name = n, base.Name+"/"+n
		samples := d.samples[n]
		pts := s.points(samples, time.Time{}, time.Time{})
		if why := d.unproduced(s, n); why != "" {
			r.Status, r.Message = record.StatusInconclusive, why
			out = append(out, r)
			continue
		}
		if why := s.notGo(samples); why != "" || len(pts) == 0 {
			r.Status = record.StatusInconclusive
			r.Message = fmt.Sprintf("%s on node %s: no samples %s", c.Series, n, why)
			out = append(out, r)
			continue
		}
		worst := pts[0]
		var first *point
		for i, p := range pts {
			if p.v > worst.v {
				worst = p
			}
			if first == nil && p.v > c.Value {
				first = &pts[i]
			}
		}
		r.Value, r.At = worst.v, worst.t
		if first != nil {
			r.Status = record.StatusFail
			r.Message = fmt.Sprintf("%s on node %s reached %g (limit %g), first over at %s", c.Series, n, worst.v, c.Value, clock(first.t))
		} else {
			r.Status = record.StatusPass
			r.Message = fmt.Sprintf("%s on node %s peaked at %g (limit %g)", c.Series, n, worst.v, c.Value)
		}
		out = append(out, r)
	}
	return out
}
