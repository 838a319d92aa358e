package checks

import (
	"fmt"
	"time"

	"github.com/soak-dev/soak/record"
	"github.com/soak-dev/soak/scenarios"
)

// DefaultMinDenominator is the smallest denominator a ratio sample needs:
// with fewer connections, a few unrelated goroutines swamp the ratio.
const DefaultMinDenominator = 10

// ratio checks Numerator / Denominator over the samples whose denominator
// is at least MinDenominator. The numerator is taken above its value
// before load (goroutines a process always has are not per connection),
// and the 90th percentile of the per-sample ratios is judged, so one sample
// caught mid-burst (request goroutines in flight) does not fail it.
func ratio(d *runData, c *scenarios.RatioCheck) record.CheckResult {
	r := record.CheckResult{Name: "ratio/" + c.Numerator + "/" + c.Denominator, Kind: "ratio", Limit: c.Max, Unit: "ratio"}
	num, err1 := parseSeries(c.Numerator)
	den, err2 := parseSeries(c.Denominator)
	if err1 != nil || err2 != nil {
		r.Status = record.StatusInconclusive
		r.Message = fmt.Sprintf("ratio: %v; fix the scenario", firstErr(err1, err2))
		return r
	}
	node := c.Node
	if node == "" && den.layer != "" {
		node = d.layerNode(den.layer)
	}
	if node == "" && num.layer != "" {
		node = d.layerNode(num.layer)
	}
	if node == "" {
		if ns := d.nodes(); len(ns) == 1 {
			node = ns[0]
		}
	}
	r.Node, r.Layer = node, den.layer
	if node != "" {
		r.Name += "/" + node
	}
	minDen := c.MinDenominator
	if minDen <= 0 {
		minDen = DefaultMinDenominator
	}
	samples := d.samples[node]
	if why := num.notGo(samples); why != "" {
		r.Status = record.StatusInconclusive
		r.Message = fmt.Sprintf("%s on node %s: %s; goroutine ratios do not apply", c.Numerator, node, why)
		return r
	}
	engine := d.engine(node)
	if engine == "" {
		r.Details = append(r.Details, "engine not stated for the node: net/http assumed (1 goroutine per server connection, 2 per pooled client connection; fasthttp clients have none per idle connection)")
	} else {
		r.Details = append(r.Details, "engine: "+engine)
	}
	numPts := num.points(samples, time.Time{}, time.Time{})
	var numBase float64
	if bp, _, ok := d.baselinePoint(numPts); ok {
		numBase = bp.v
		r.Details = append(r.Details, fmt.Sprintf("%s above its value before load (%g)", c.Numerator, numBase))
	}
	var ratios []float64
	var worst sample
	worstV := -1.0
	for _, s := range samples {
		nv, ok1 := num.value(s)
		dv, ok2 := den.value(s)
		if !ok1 || !ok2 || dv < float64(minDen) || (num.kind == "goroutines" && s.Goroutines.Source == record.SourceThreads) {
			continue
		}
		q := (nv - numBase) / dv
		ratios = append(ratios, q)
		if q > worstV {
			worstV, worst = q, s
		}
	}
	if len(ratios) == 0 {
		r.Status = record.StatusInconclusive
		r.Message = fmt.Sprintf("%s never reached %d on node %s; hold more connections (an idle phase) to measure the ratio", c.Denominator, minDen, node)
		return r
	}
	r.Value = quantile(ratios, 0.9)
	r.At = worst.Time
	r.Details = append(r.Details, fmt.Sprintf("p90 of %d samples with %s >= %d; median %.2f, max %.2f at %s", len(ratios), c.Denominator, minDen, median(ratios), worstV, clock(worst.Time)))
	if r.Value > c.Max {
		r.Status = record.StatusFail
		r.Message = fmt.Sprintf("%.2f %s per %s on node %s (p90; limit %g) around %s; each connection holds more than it should",
			r.Value, c.Numerator, c.Denominator, node, c.Max, clock(worst.Time))
		return r
	}
	r.Status = record.StatusPass
	r.Message = fmt.Sprintf("%.2f %s per %s on node %s (p90; limit %g)", r.Value, c.Numerator, c.Denominator, node, c.Max)
	return r
}

func firstErr(errs ...error) error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}
