package reports

import "strings"

// figureKind says how a headline figure (summary.json "figures") is shown
// in a comparison: its unit, the factor from the stored value to the shown
// one (RSS is stored in bytes and shown in MiB), and which way is better.
type figureKind struct {
	Unit  string
	Scale float64
	// Better is "lower", "higher" or "" (neither: a change is only news).
	Better string
}

// kindOf returns the kind of a figure by its name (see docs/reports.md).
func kindOf(fig string) figureKind {
	f := fig
	if strings.HasPrefix(f, "nodes.") {
		// nodes.NODE.goroutines.peak: the kind of goroutines.peak.
		if rest := strings.SplitN(f, ".", 3); len(rest) == 3 {
			f = rest[2]
		}
	}
	lower := func(unit string) figureKind { return figureKind{Unit: unit, Scale: 1, Better: "lower"} }
	switch {
	case strings.HasPrefix(f, "rss."):
		return figureKind{Unit: "MiB", Scale: 1.0 / (1 << 20), Better: "lower"}
	case f == "goroutines.slope":
		return lower("goroutines/h")
	case f == "goroutines.per_conn", strings.HasSuffix(f, ".goroutines_per_idle_conn"):
		return lower("goroutines/conn")
	case strings.HasSuffix(f, ".fds_per_idle_conn"):
		return lower("FDs/conn")
	case strings.HasPrefix(f, "goroutines."):
		return lower("goroutines")
	case strings.HasPrefix(f, "fd."):
		return lower("FDs")
	case f == "load.requests":
		return figureKind{Unit: "requests", Scale: 1, Better: "higher"}
	case f == "load.rate":
		return figureKind{Unit: "req/s", Scale: 1, Better: "higher"}
	case f == "load.error_rate":
		return figureKind{Unit: "%", Scale: 100, Better: "lower"}
	case f == "load.p50", f == "load.p99":
		return lower("ms")
	case strings.HasSuffix(f, ".max_idle"):
		return lower("s")
	case strings.Contains(f, ".reclaimed_after"):
		// The effective idle timeout: a change either way is news, and
		// whether it is good depends on the configured timeout.
		return figureKind{Unit: "s", Scale: 1}
	case strings.HasSuffix(f, ".peak"), strings.HasSuffix(f, ".end"):
		return lower("sockets")
	}
	return figureKind{Scale: 1}
}

// changeClass colours a change: "worse" or "better" by the figure's kind,
// "" when it did not move, or when no direction is better.
func changeClass(fig string, change float64) string {
	k := kindOf(fig)
	switch {
	case change == 0 || k.Better == "":
		return ""
	case (change > 0) == (k.Better == "higher"):
		return "better"
	}
	return "worse"
}
