package checks

import (
	"fmt"
	"time"

	"github.com/soak-dev/soak/internal/stats"
	"github.com/soak-dev/soak/record"
	"github.com/soak-dev/soak/scenarios"
	"github.com/soak-dev/soak/series"
)

// DefaultMinDenominator is the smallest denominator a ratio sample needs:
// with fewer connections, a few unrelated goroutines swamp the ratio.
const DefaultMinDenominator = 10

func init() { register(one(ratio)) }

// ratio checks Numerator / Denominator over the samples whose denominator
// is at least MinDenominator. The numerator is taken above its value
// before load (goroutines a process always has are not per connection),
// and the 90th percentile of the per-sample ratios is judged, so one sample
// caught mid-burst (request goroutines in flight) does not fail it.
func ratio(d *runData, c *scenarios.RatioCheck) record.CheckResult {
	r := record.CheckResult{Name: "ratio/" + c.Numerator + "/" + c.Denominator, Kind: "ratio", Limit: c.Max, Unit: "ratio"}
	num, err1 := d.parseSeries(c.Numerator)
	den, err2 := d.parseSeries(c.Denominator)
	if err1 != nil || err2 != nil {
		r.Status = record.StatusInconclusive
		r.Message = fmt.Sprintf("ratio: %v; fix the scenario", firstErr(err1, err2))
		return r
	}
	node := c.Node
	if node == "" && den.OneLayer() != "" {
		node = d.layerNode(den.OneLayer())
	}
	if node == "" && num.OneLayer() != "" {
		node = d.layerNode(num.OneLayer())
	}
	if node == "" {
		if ns := d.nodes(); len(ns) == 1 {
			node = ns[0]
		}
	}
	r.Node, r.Layer = node, den.OneLayer()
	if node != "" {
		r.Name += "/" + node
	}
	minDen := c.MinDenominator
	if minDen <= 0 {
		minDen = DefaultMinDenominator
	}
	samples := d.samples[node]
	for _, s := range []metric{num, den} {
		if why := d.unproduced(s, node); why != "" {
			r.Status, r.Message = record.StatusInconclusive, why
			return r
		}
	}
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
	dens := skewGuardedDenominators(den, samples)
	var ratios []float64
	var worst sample
	worstV := -1.0
	skewed := 0
	for i, s := range samples {
		nv, ok1 := num.value(s)
		dv, ok2 := den.value(s)
		if !ok1 || !ok2 || dv < float64(minDen) || (num.Kind == series.Goroutines && s.Goroutines.Source == record.SourceThreads) {
			continue
		}
		if dens[i] > dv {
			skewed++
		}
		q := (nv - numBase) / dens[i]
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
	if skewed > 0 {
		r.Details = append(r.Details, fmt.Sprintf("%d samples divided by a neighbour's larger %s (connections opened or closed between the two reads)", skewed, c.Denominator))
	}
	r.Value = stats.Quantile(ratios, 0.9)
	r.At = worst.Time
	r.Details = append(r.Details, fmt.Sprintf("p90 of %d samples with %s >= %d; median %.2f, max %.2f at %s", len(ratios), c.Denominator, minDen, stats.Median(ratios), worstV, clock(worst.Time)))
	if r.Value > c.Max {
		r.Status = record.StatusFail
		r.Message = fmt.Sprintf("%.2f %s above their pre-load level per %s on node %s (p90 of %d samples with %s >= %d; limit %g) around %s; %s",
			r.Value, c.Numerator, c.Denominator, node, len(ratios), c.Denominator, minDen, c.Max, clock(worst.Time), ratioCause(ratios))
		if num.Kind == series.Goroutines {
			d.attribute(node, &r)
		}
		return r
	}
	r.Status = record.StatusPass
	r.Message = fmt.Sprintf("%.2f %s per %s on node %s (p90; limit %g)", r.Value, c.Numerator, c.Denominator, node, c.Max)
	return r
}

// skewGuardedDenominators gives each sample's denominator as the largest of
// its own and its two neighbours'. The numerator and the denominator of one
// sample are read a moment apart (pprof over HTTP, sockets from the kernel),
// so a connection that opens or closes in between has its goroutine counted
// and its socket not: 10 goroutines over 6 sockets while 10 connections
// close. The neighbour on the side of the change still counts the socket.
// This can only lower a ratio, and a ratio that stays high while the
// connection count is steady, which is what a per-connection leak looks
// like, is unchanged.
func skewGuardedDenominators(den metric, samples []sample) []float64 {
	raw := make([]float64, len(samples))
	for i, s := range samples {
		raw[i], _ = den.value(s)
	}
	out := make([]float64, len(samples))
	for i, v := range raw {
		if i > 0 {
			v = max(v, raw[i-1])
		}
		if i+1 < len(raw) {
			v = max(v, raw[i+1])
		}
		out[i] = v
	}
	return out
}

// ratioCause says what a high ratio means, from how it moved over the
// run. A ratio that rose steadily (last quarter of the samples well above
// the first) is a numerator that accumulates whatever the connection count
// does, per request or per event: calling it "per connection" would send
// the reader after the wrong bug. A ratio that stayed high is what each
// connection holds.
func ratioCause(ratios []float64) string {
	q := len(ratios) / 4
	if q >= 2 {
		first, last := stats.Median(ratios[:q]), stats.Median(ratios[len(ratios)-q:])
		if last > 1.5*first && last-first >= 1 {
			return fmt.Sprintf("the ratio rose over the run (median %.2f in the first quarter of these samples, %.2f in the last): the numerator accumulates whatever the connections do (per request or per event, not per connection)", first, last)
		}
	}
	return "it stayed high while the connections were held: each connection holds more than the limit"
}

func firstErr(errs ...error) error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}
