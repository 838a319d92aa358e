package checks

import (
	"slices"
	"time"

	"github.com/soak-dev/soak/record"
	"github.com/soak-dev/soak/series"
)

// sample is the compact form of a record.Sample the checks read.
type sample = series.Sample

// point is one value of a series at a moment.
type point struct {
	t time.Time
	v float64
}

// metric is a series name as the checks read it: package series owns the
// grammar and the value of a sample; metric adds which samples count.
type metric struct{ series.Name }

// parseSeries parses name and checks that its layer is one of the run's, so
// a name validation did not see (a run directory edited by hand, an old
// scenario) is inconclusive rather than read as 0.
func (d *runData) parseSeries(name string) (metric, error) {
	n, err := series.Check(name, d.layers())
	return metric{n}, err
}

// layers returns the run's layers: meta's and the scenario's, sorted.
func (d *runData) layers() []string {
	var out []string
	for l := range d.meta.Layers {
		out = append(out, l)
	}
	if d.sc != nil {
		for l := range d.sc.Layers {
			if !slices.Contains(out, l) {
				out = append(out, l)
			}
		}
	}
	slices.Sort(out)
	return out
}

// value extracts the series from one sample; ok is false when the sample
// has no such figure (a probe failed or the node is gone).
func (s metric) value(smp sample) (float64, bool) { return s.Value(&smp) }

// notGo says why the series cannot be judged on this node: goroutines of a
// process whose probe fell back to OS threads (not a Go program, or no
// pprof/metrics endpoint).
func (s metric) notGo(samples []sample) string {
	if s.Kind != series.Goroutines {
		return ""
	}
	for _, smp := range samples {
		if smp.Goroutines != nil && smp.Goroutines.Source != record.SourceThreads {
			return ""
		}
	}
	for _, smp := range samples {
		if smp.Goroutines != nil {
			return "goroutines were counted as OS threads (not a Go process, or no pprof/metrics URL)"
		}
	}
	return ""
}

// points returns the series' values on samples within [from, to] (zero
// times: unbounded).
func (s metric) points(samples []sample, from, to time.Time) []point {
	var out []point
	for i := range samples {
		smp := &samples[i]
		if (!from.IsZero() && smp.Time.Before(from)) || (!to.IsZero() && smp.Time.After(to)) {
			continue
		}
		if smp.Goroutines != nil && smp.Goroutines.Source == record.SourceThreads && s.Kind == series.Goroutines {
			continue
		}
		if s.Kind == series.Sockets && smp.Sockets != nil && smp.Sockets.Partial {
			continue // an interrupted dump undercounts
		}
		if v, ok := s.Value(smp); ok {
			out = append(out, point{smp.Time, v})
		}
	}
	return out
}

// lastBefore returns the last value at or before t.
func lastBefore(pts []point, t time.Time) (point, bool) {
	var best point
	found := false
	for _, p := range pts {
		if p.t.After(t) {
			break
		}
		best, found = p, true
	}
	return best, found
}
