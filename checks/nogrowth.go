package checks

import (
	"fmt"
	"math"
	"sort"
	"time"

	"github.com/soak-dev/soak/internal/stats"
	"github.com/soak-dev/soak/record"
	"github.com/soak-dev/soak/scenarios"
	"github.com/soak-dev/soak/series"
)

// Thresholds of no_growth: growth is flagged only when all three hold, so a
// statistically certain but tiny drift (a few KiB of RSS, a fraction of a
// goroutine) does not wake anyone.
const (
	// GrowthPValue is the one-sided Mann-Kendall p-value below which a trend is real.
	GrowthPValue = 0.01
	// GrowthRelative is the rise over the window, as a fraction of the
	// series' median level, that a trend must exceed.
	GrowthRelative = 0.05
	// GrowthMinPoints is the fewest downsampled points judged: with fewer,
	// Mann-Kendall cannot reach GrowthPValue.
	GrowthMinPoints = 6
)

func init() { register(noGrowth) }

// noGrowth checks a series for an upward trend over the phases named in
// During (all load phases when empty), one result per node. Samples are
// downsampled first, because 1 s samples are autocorrelated and idle
// timeouts make a sawtooth: to the floor (lowest value) of each run of a
// repeated phase (like with like), otherwise to medians of time bins at least twice the longest idle timeout. The slope
// is Theil-Sen's, the test Mann-Kendall's.
func noGrowth(d *runData, c *scenarios.NoGrowthCheck) []record.CheckResult {
	s, err := d.parseSeries(c.Series)
	base := record.CheckResult{Name: "no_growth/" + c.Series, Kind: "no_growth", Limit: c.MaxRate}
	if err != nil {
		base.Status, base.Message = record.StatusInconclusive, err.Error()+"; fix the scenario"
		return []record.CheckResult{base}
	}
	base.Unit = s.Unit() + "/h"
	base.Layer = s.OneLayer()
	nodes := d.nodes()
	switch {
	case c.Node != "":
		nodes = []string{c.Node}
	case s.OneLayer() != "":
		nodes = []string{d.layerNode(s.OneLayer())}
	}
	var out []record.CheckResult
	for _, n := range nodes {
		r := base
		r.Node = n
		r.Name = base.Name + "/" + n
		growthOn(d, c, s, n, &r)
		out = append(out, r)
	}
	return out
}

func growthOn(d *runData, c *scenarios.NoGrowthCheck, s metric, node string, r *record.CheckResult) {
	samples := d.samples[node]
	inconclusive := func(format string, args ...any) {
		r.Status = record.StatusInconclusive
		r.Message = fmt.Sprintf("%s on node %s: ", s.Text, node) + fmt.Sprintf(format, args...)
	}
	if why := d.neverRan(c.During); why != "" {
		inconclusive("%s", why)
		return
	}
	if why := d.unproduced(s, node); why != "" {
		r.Status, r.Message = record.StatusInconclusive, why
		return
	}
	if why := s.notGo(samples); why != "" {
		inconclusive("%s; goroutine checks do not apply", why)
		return
	}
	x, y, how := d.growthPoints(c, s, samples)
	r.Details = append(r.Details, how)
	if len(x) < GrowthMinPoints {
		inconclusive("%s after downsampling (need %d); run longer or repeat the phase more times", pointsOnly(len(x)), GrowthMinPoints)
		return
	}
	hours := make([]float64, len(x))
	for i, t := range x {
		hours[i] = t.Sub(x[0]).Hours()
	}
	slope := stats.TheilSen(hours, y)
	_, z, p := stats.MannKendall(y)
	span := x[len(x)-1].Sub(x[0])
	rise := slope * span.Hours()
	level := stats.Median(y)
	minRise := 1.0 // one goroutine, fd or connection
	if s.Kind == series.RSS {
		minRise = 1 << 20
	}
	relLimit := GrowthRelative * math.Max(level, 1)
	r.Value, r.At = slope, x[len(x)-1]
	r.Details = append(r.Details, fmt.Sprintf("Theil-Sen slope %.3g/h, Mann-Kendall z=%.2f p=%.2g, rise %.3g over %s, median level %.3g; flagged when p < %g and slope > %g/h and rise > max(%g, %g%% of level)",
		slope, z, p, rise, span.Round(time.Second), level, GrowthPValue, c.MaxRate, minRise, GrowthRelative*100))
	during := "the run"
	if len(c.During) > 0 {
		during = fmt.Sprint(c.During)
	}
	if p < GrowthPValue && slope > c.MaxRate && rise >= minRise && rise > relLimit {
		r.Status = record.StatusFail
		r.Message = fmt.Sprintf("%s on node %s grew %s/h (+%s over %s, Mann-Kendall p=%.2g; limit %g/h) during %s; something is held and never released",
			s.Text, node, short(slope), short(rise), span.Round(time.Second), p, c.MaxRate, during)
		if s.Kind == series.Goroutines {
			d.attribute(node, r)
		}
		return
	}
	r.Status = record.StatusPass
	trend := fmt.Sprintf("slope %s/h, p=%.2g over %d points, %s", short(slope), p, len(x), span.Round(time.Second))
	if span < time.Hour {
		// A slope per hour from a window of seconds reads as a forecast;
		// the change the window saw is what was measured.
		trend = fmt.Sprintf("%s over %s, Mann-Kendall p=%.2g over %d points", signed(rise), span.Round(time.Second), p, len(x))
	}
	r.Message = fmt.Sprintf("%s on node %s: no growth (%s) during %s", s.Text, node, trend, during)
}

// growthPoints downsamples the series over the check's phases and says how.
func (d *runData) growthPoints(c *scenarios.NoGrowthCheck, s metric, samples []sample) ([]time.Time, []float64, string) {
	names := c.During
	if len(names) == 0 {
		for _, p := range d.meta.Phases {
			if p.Kind != "quiet" && (len(names) == 0 || names[len(names)-1] != p.Base) {
				names = append(names, p.Base)
			}
		}
	}
	// Like with like: the floor of each run of the most repeated phase, the
	// first run skipped as warm-up. Load raises the peaks and a leak raises
	// the floor; the value at the end of a load run depends on what was in
	// flight (measured: 2 false alarms in 15 healthy runs), its floor does
	// not. Quiet phases win ties: they are the cleanest moments of a cycle.
	var best []record.PhaseMeta
	for _, n := range names {
		runs := d.runsOf(n)
		if len(runs) > 1 {
			runs = runs[1:]
		}
		if len(runs) > len(best) || (len(runs) == len(best) && len(runs) > 0 && runs[0].Kind == "quiet" && best[0].Kind != "quiet") {
			best = runs
		}
	}
	if len(best) > 0 && len(d.runsOf(best[0].Base)) > 1 {
		// Phases repeat: bins would mix load and quiet moments, so the
		// cycle ends are the only fair points, however few.
		var x []time.Time
		var y []float64
		for _, p := range best {
			pts := s.points(samples, p.Start, d.phaseEnd(p))
			if len(pts) == 0 {
				continue
			}
			floor := pts[0].v
			for _, pt := range pts {
				floor = math.Min(floor, pt.v)
			}
			x, y = append(x, pts[len(pts)-1].t), append(y, floor)
		}
		return x, y, fmt.Sprintf("one point per run of %s (its floor: the run's lowest value), first run skipped as warm-up", best[0].Base)
	}
	// Time bins over the union of the phases' windows.
	type window struct{ from, to time.Time }
	var ws []window
	var total time.Duration
	for _, n := range names {
		for _, p := range d.runsOf(n) {
			w := window{p.Start, d.phaseEnd(p)}
			if w.to.After(w.from) {
				ws = append(ws, w)
				total += w.to.Sub(w.from)
			}
		}
	}
	sort.Slice(ws, func(i, j int) bool { return ws[i].from.Before(ws[j].from) })
	skip := max(d.maxTimeout(), total/10)
	bin := max(2*d.maxTimeout(), 5*d.interval, min(time.Minute, total/8))
	var x []time.Time
	var y []float64
	skipped := time.Duration(0)
	for _, w := range ws {
		from := w.from
		if skipped < skip {
			cut := min(skip-skipped, w.to.Sub(w.from))
			from, skipped = from.Add(cut), skipped+cut
		}
		// The window's points once, in time order; the bins walk them, and
		// skip empty stretches at once: stepping bin by bin to a sample
		// dated in year 9999 never finished.
		all := s.points(samples, from, w.to)
		sort.SliceStable(all, func(i, j int) bool { return all[i].t.Before(all[j].t) })
		i := 0
		for b := from; !b.Add(bin).After(w.to); b = b.Add(bin) {
			for i < len(all) && all[i].t.Before(b) {
				i++
			}
			if i == len(all) {
				break
			}
			if gap := all[i].t.Sub(b); gap > bin {
				b = b.Add(gap / bin * bin) // the bin holding the next point
				if b.Add(bin).After(w.to) {
					break
				}
			}
			j := i
			for j < len(all) && !all[j].t.After(b.Add(bin)) {
				j++
			}
			pts := all[i:j]
			if len(pts) == 0 || float64(len(pts)) < 0.5*float64(bin/d.interval) {
				continue
			}
			vals := make([]float64, len(pts))
			for k, pt := range pts {
				vals[k] = pt.v
			}
			x, y = append(x, b.Add(bin/2)), append(y, stats.Median(vals))
		}
	}
	return x, y, fmt.Sprintf("medians of %s bins over %v, first %s skipped as warm-up", bin, names, skip.Round(time.Millisecond))
}

// short formats a figure for a message: whole numbers from 100 up, three
// significant digits below.
func short(v float64) string {
	if math.Abs(v) >= 100 {
		return fmt.Sprintf("%.0f", v)
	}
	return fmt.Sprintf("%.3g", v)
}

// pointsOnly says how few points there are, in English.
func pointsOnly(n int) string {
	switch n {
	case 0:
		return "no points"
	case 1:
		return "only 1 point"
	}
	return fmt.Sprintf("only %d points", n)
}

// signed is v with its sign, as short writes it (+0 for no change).
func signed(v float64) string {
	if v < 0 {
		return short(v)
	}
	return "+" + short(v)
}
