package checks

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/soak-dev/soak/record"
	"github.com/soak-dev/soak/scenarios"
	"github.com/soak-dev/soak/series"
)

func init() { register(drain) }

// drain checks, for every run of phase After, that the layer's established
// connections are back to the baseline (the last count before the first
// load phase) or to N by the end of the run (or Within after it starts).
func drain(d *runData, c *scenarios.DrainCheck) []record.CheckResult {
	base := record.CheckResult{Name: "drain/" + c.Layer, Kind: "drain", Layer: c.Layer, Unit: "conns"}
	node := d.layerNode(c.Layer)
	base.Node = node
	inconclusive := func(msg string) []record.CheckResult {
		base.Status, base.Message = record.StatusInconclusive, msg
		return []record.CheckResult{base}
	}
	if node == "" {
		return inconclusive(fmt.Sprintf("%s: layer not found in the run's meta; check the scenario's layers", c.Layer))
	}
	runs := d.runsOf(c.After)
	if len(runs) == 0 {
		return inconclusive(fmt.Sprintf("%s: phase %q never ran; the run ended early or the name is wrong", c.Layer, c.After))
	}
	if why := d.layerUnseen(c.Layer); why != "" {
		return inconclusive(why)
	}
	s := metric{series.Name{Text: series.Socket(c.Layer, ""), Kind: series.Sockets, Layer: c.Layer}}
	pts := s.points(d.samples[node], time.Time{}, time.Time{})
	if len(pts) == 0 {
		return inconclusive(fmt.Sprintf("%s: no socket samples on node %s", c.Layer, node))
	}
	var want float64
	wantNote := ""
	switch to := strings.TrimSpace(c.To); to {
	case "", "baseline":
		bp, note, ok := d.baselinePoint(pts)
		if note != "" {
			base.Details = append(base.Details, note)
		}
		if !ok {
			return inconclusive(fmt.Sprintf("%s: no sample before the first load phase to take a baseline from; set `to: 0`", c.Layer))
		}
		want, wantNote = bp.v, fmt.Sprintf("baseline %g", bp.v)
	default:
		n, err := strconv.Atoi(to)
		if err != nil || n < 0 {
			return inconclusive(fmt.Sprintf("%s: to %q is neither baseline nor a count", c.Layer, c.To))
		}
		want, wantNote = float64(n), fmt.Sprintf("target %d", n)
	}
	timeout := d.layerTimeout(c.Layer)
	var out []record.CheckResult
	for _, p := range runs {
		r := base
		r.Details = append([]string(nil), base.Details...)
		if len(runs) > 1 {
			r.Name = base.Name + "/" + p.Name
		}
		end := d.phaseEnd(p)
		if c.Within > 0 {
			end = p.Start.Add(c.Within.D())
		}
		r.Limit = want
		pt, ok := lastBefore(pts, end)
		if !ok || pt.t.Before(p.Start) {
			r.Status = record.StatusInconclusive
			r.Message = fmt.Sprintf("%s: no sample of node %s during phase %s", c.Layer, node, p.Name)
			out = append(out, r)
			continue
		}
		r.Value, r.At = pt.v, pt.t
		window := end.Sub(p.Start)
		if pt.v <= want {
			r.Status = record.StatusPass
			r.Message = fmt.Sprintf("%s: %g established at the end of %s on node %s (%s); the layer drained", c.Layer, pt.v, p.Name, node, wantNote)
			out = append(out, r)
			continue
		}
		if c.Within == 0 && timeout > 0 && window < timeout+d.interval {
			// A healthy SUT cannot drain before its idle timeout: a fail here would be a false alarm.
			r.Status = record.StatusInconclusive
			r.Message = fmt.Sprintf("%s: %g established at the end of %s, but the phase lasted %s, not longer than the idle timeout %s; make it longer",
				c.Layer, pt.v, p.Name, window.Round(time.Millisecond), timeout)
			out = append(out, r)
			continue
		}
		r.Status = record.StatusFail
		r.Message = fmt.Sprintf("%s: %g connections still established on node %s at %s, %s after %s began (%s); idle connections were not closed",
			c.Layer, pt.v, node, clock(pt.t), window.Round(time.Millisecond), p.Name, wantNote)
		out = append(out, r)
	}
	return out
}
