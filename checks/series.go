package checks

import (
	"fmt"
	"strings"
	"time"

	"github.com/soak-dev/soak/record"
)

// point is one value of a series at a moment.
type point struct {
	t time.Time
	v float64
}

// series names one per-sample figure: goroutines, goroutines.CLASS, fds,
// rss, threads, sockets.LAYER (established), sockets.LAYER.idle (idle
// conns) or sockets.LAYER.STATE.
type series struct {
	name   string
	kind   string // goroutines, fds, rss, threads, sockets
	class  string // goroutine class, for goroutines.CLASS
	layer  string
	detail string // "", "idle" or a state name
}

func parseSeries(name string) (series, error) {
	s := series{name: name}
	head, rest, _ := strings.Cut(name, ".")
	switch head {
	case "goroutines":
		s.kind, s.class = head, rest
	case "fds", "rss", "threads":
		if rest != "" {
			return s, fmt.Errorf("unknown series %q", name)
		}
		s.kind = head
	case "sockets":
		s.kind = head
		s.layer, s.detail, _ = strings.Cut(rest, ".")
		if s.layer == "" {
			return s, fmt.Errorf("series %q names no layer (sockets.LAYER[.idle|.STATE])", name)
		}
	default:
		return s, fmt.Errorf("unknown series %q (goroutines, fds, rss, threads, sockets.LAYER[.idle|.STATE])", name)
	}
	return s, nil
}

// unit is the unit of the series' values.
func (s series) unit() string {
	switch s.kind {
	case "rss":
		return "bytes"
	case "sockets":
		return "conns"
	}
	return s.kind
}

// value extracts the series from one sample; ok is false when the sample
// has no such figure (a probe failed or the node is gone).
func (s series) value(smp sample) (v float64, ok bool) {
	switch s.kind {
	case "goroutines":
		if smp.Goroutines == nil {
			return 0, false
		}
		if s.class != "" {
			return float64(smp.Goroutines.class(s.class)), smp.Goroutines.hasClasses
		}
		return float64(smp.Goroutines.Total), true
	case "fds":
		if smp.FDs == nil {
			return 0, false
		}
		return float64(*smp.FDs), true
	case "rss":
		if smp.Process == nil {
			return 0, false
		}
		return float64(smp.Process.RSS), true
	case "threads":
		if smp.Process == nil {
			return 0, false
		}
		return float64(smp.Process.Threads), true
	case "sockets":
		if smp.Sockets == nil {
			return 0, false
		}
		// A layer with no socket this tick is absent from the map: zero.
		l := smp.Sockets.layer(s.layer)
		if l == nil {
			return 0, true
		}
		switch s.detail {
		case "":
			return float64(l.Established()), true
		case "idle":
			return float64(l.IdleConns), true
		default:
			return float64(l.state(strings.ToUpper(s.detail))), true
		}
	}
	return 0, false
}

// notGo says why the series cannot be judged on this node: goroutines of a
// process whose probe fell back to OS threads (not a Go program, or no
// pprof/metrics endpoint).
func (s series) notGo(samples []sample) string {
	if s.kind != "goroutines" {
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
func (s series) points(samples []sample, from, to time.Time) []point {
	var out []point
	for _, smp := range samples {
		if (!from.IsZero() && smp.Time.Before(from)) || (!to.IsZero() && smp.Time.After(to)) {
			continue
		}
		if smp.Goroutines != nil && smp.Goroutines.Source == record.SourceThreads && s.kind == "goroutines" {
			continue
		}
		if s.kind == "sockets" && smp.Sockets != nil && smp.Sockets.Partial {
			continue // an interrupted dump undercounts
		}
		if v, ok := s.value(smp); ok {
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
