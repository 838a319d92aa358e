// Package remote reads the samples of a node soak neither starts nor
// probes: from its `soak probe --listen` exporter, scraped each tick, or
// from a Prometheus server that scrapes that exporter (query_range,
// window after window as the run goes on: Tail). Both turn the exporter's metrics back into
// record.Samples, so checks, reports and compare read a remote node's
// samples.jsonl lines like a local node's.
//
// Every answer is untrusted: bodies are capped, requests time out, and a
// value that is not a count (NaN, negative, too large) or a label set
// beyond the caps is a named error, never a panic.
package remote

import (
	"fmt"
	"math"
	"slices"
	"strconv"

	"github.com/prometheus/common/model"
	"github.com/soak-dev/soak/record"
	"github.com/soak-dev/soak/series"
)

// Caps on what one sample may hold: a hostile or broken exporter must not
// make soak's memory grow with its label values.
const (
	// MaxSeries bounds the soak_* series of one sample (one scrape or one
	// step of a range query): a node with 100 layers and 50 goroutine
	// classes has a few thousand.
	MaxSeries = 20000
	// MaxLabelValues bounds the distinct layers, goroutine classes and fd
	// types of one sample.
	MaxLabelValues = 256
	// maxCount bounds a count (sockets, goroutines, fds, bytes): 2^50.
	maxCount = 1 << 50
)

// The exporter's metric names (package exporter, docs/probes.md).
const (
	mSockets       = "soak_sockets"
	mIdleConns     = "soak_sockets_idle"
	mIdleMax       = "soak_socket_idle_max_seconds"
	mIdleAgeBucket = "soak_socket_idle_age_seconds_bucket"
	mCloseWaitAge  = "soak_socket_close_wait_max_age_seconds"
	mGoroutines    = "soak_goroutines"
	mFDs           = "soak_fds"
	mFDLimit       = "soak_fds_limit"
	mRSS           = "soak_process_resident_memory_bytes"
	mCPU           = "soak_process_cpu_seconds_total"
	mThreads       = "soak_process_threads"
	mSuccess       = "soak_scrape_probe_success"
)

// Sources of a remote node's samples: sockets.method of its samples and
// meta.json's probe_methods.
const (
	SourceExporter   = "exporter"
	SourcePrometheus = "prometheus"
)

// builder collects one sample from the exporter's series.
type builder struct {
	s      record.Sample
	idle   map[string][]uint64 // layer -> cumulative bucket counts by record.IdleBucketsMs, then +Inf
	values map[string]bool     // distinct layers, classes and fd types
	n      int
}

// toSample turns the soak_* series of one scrape (or one step of a range
// query) into a sample of node. Series of other names are ignored. The
// error names the first series soak cannot read; the sample is then not
// to be used. A node of several processes (an exporter's --process-name
// or --cgroup target: one pid label each) is their sum: counts, RSS, CPU
// and threads added, ages the largest, the fd limit the lowest.
func toSample(vec model.Vector, node, source string) (record.Sample, error) {
	b := &builder{s: record.Sample{Node: node}, idle: map[string][]uint64{}, values: map[string]bool{}}
	for _, smp := range vec {
		if err := b.add(smp.Metric, float64(smp.Value)); err != nil {
			return record.Sample{}, err
		}
	}
	b.finish(source)
	return b.s, nil
}

func (b *builder) add(m model.Metric, v float64) error {
	name := string(m[model.MetricNameLabel])
	if len(name) < 5 || name[:5] != "soak_" {
		return nil
	}
	if b.n++; b.n > MaxSeries {
		return fmt.Errorf("more than %d soak_ series in one sample", MaxSeries)
	}
	if pid := string(m["pid"]); pid != "" && b.s.PID == 0 {
		if p, err := strconv.Atoi(pid); err == nil && p > 0 {
			b.s.PID = p
		}
	}
	bad := func(what string) error {
		return fmt.Errorf("%s: value %v is not %s", m, v, what)
	}
	count := func() (int, error) {
		if math.IsNaN(v) || v < 0 || v > maxCount || v != math.Trunc(v) {
			return 0, bad("a count")
		}
		return int(v), nil
	}
	seconds := func() (int64, error) { // to ms
		if math.IsNaN(v) || v < 0 || v > maxCount/1000 {
			return 0, bad("a duration in seconds")
		}
		return int64(math.Round(v * 1000)), nil
	}
	label := func(l string) (string, error) {
		s := string(m[model.LabelName(l)])
		if s == "" {
			return "", fmt.Errorf("%s: no %s label", m, l)
		}
		if !b.values[l+"="+s] {
			if len(b.values) >= MaxLabelValues {
				return "", fmt.Errorf("%s: more than %d layers, goroutine classes and fd types in one sample", m, MaxLabelValues)
			}
			b.values[l+"="+s] = true
		}
		return s, nil
	}
	layer := func() (*record.LayerSockets, string, error) {
		name, err := label("layer")
		if err != nil {
			return nil, "", err
		}
		if b.s.Sockets == nil {
			b.s.Sockets = &record.Sockets{Layers: map[string]*record.LayerSockets{}}
		}
		l := b.s.Sockets.Layers[name]
		if l == nil {
			l = &record.LayerSockets{}
			b.s.Sockets.Layers[name] = l
		}
		return l, name, nil
	}
	// layerCount and layerMs read a per-layer series: its layer, then its
	// value (the errors in that order).
	layerCount := func() (*record.LayerSockets, string, int, error) {
		l, name, err := layer()
		if err != nil {
			return nil, "", 0, err
		}
		n, err := count()
		return l, name, n, err
	}
	layerMs := func() (*record.LayerSockets, int64, error) {
		l, _, err := layer()
		if err != nil {
			return nil, 0, err
		}
		ms, err := seconds()
		return l, ms, err
	}
	switch name {
	case mSockets:
		l, _, n, err := layerCount()
		if err != nil {
			return err
		}
		state := string(m["state"])
		if state == "" {
			return fmt.Errorf("%s: no state label", m)
		}
		if l.ByState == nil {
			l.ByState = map[string]int{}
		}
		if len(l.ByState) >= MaxLabelValues {
			return fmt.Errorf("%s: more than %d states", m, MaxLabelValues)
		}
		l.ByState[state] += n
		// "unknown" holds ESTABLISHED sockets the sides missed: no side.
		if side := string(m["side"]); state == series.Established && (side == "server" || side == "client") {
			if l.Sides == nil {
				l.Sides = map[string]int{}
			}
			l.Sides[side] += n
		}
	case mIdleConns:
		l, _, n, err := layerCount()
		if err != nil {
			return err
		}
		l.IdleConns += n
	case mIdleMax:
		l, ms, err := layerMs()
		if err != nil {
			return err
		}
		if l.Idle == nil {
			l.Idle = &record.IdleStats{}
		}
		l.Idle.Max = max(l.Idle.Max, ms)
	case mIdleAgeBucket:
		_, name, n, err := layerCount()
		if err != nil {
			return err
		}
		i, err := bucketIndex(m)
		if err != nil {
			return err
		}
		h := b.idle[name]
		if h == nil {
			h = make([]uint64, len(record.IdleBucketsMs)+1)
			b.idle[name] = h
		}
		h[i] += uint64(n)
	case mCloseWaitAge:
		l, ms, err := layerMs()
		if err != nil {
			return err
		}
		l.CloseWaitMaxAgeMs = max(l.CloseWaitMaxAgeMs, ms)
	case mGoroutines:
		class, err := label("class")
		if err != nil {
			return err
		}
		n, err := count()
		if err != nil {
			return err
		}
		g := b.s.Goroutines
		if g == nil {
			g = &record.Goroutines{Source: record.SourcePprof}
			b.s.Goroutines = g
		}
		if class == "all" { // only go_goroutines answered: no classes
			g.Source, g.Total = record.SourceMetrics, g.Total+n
			break
		}
		if g.ByClass == nil {
			g.ByClass = map[string]int{}
		}
		g.ByClass[class] += n
	case mFDs:
		typ, err := label("type")
		if err != nil {
			return err
		}
		n, err := count()
		if err != nil {
			return err
		}
		f := b.fds()
		if f.ByType == nil {
			f.ByType = map[string]int{}
		}
		f.ByType[typ] += n
	case mFDLimit:
		n, err := count()
		if err != nil {
			return err
		}
		if f := b.fds(); f.Limit == 0 || uint64(n) < f.Limit {
			f.Limit = uint64(n) // the tightest of the node's processes
		}
	case mRSS, mThreads, mCPU:
		p := b.s.Process
		if p == nil {
			p = &record.Process{}
			b.s.Process = p
		}
		if name == mCPU {
			if math.IsNaN(v) || v < 0 || v > maxCount {
				return bad("CPU seconds")
			}
			p.CPUSeconds += v
			break
		}
		n, err := count()
		if err != nil {
			return err
		}
		if name == mRSS {
			p.RSS += uint64(n)
		} else {
			p.Threads += n
		}
	case mSuccess:
		// A sockets probe that read no socket of any layer exports no
		// soak_sockets: its sample still has sockets (none), as a local
		// one has, so a drain's baseline of 0 is seen.
		if v == 1 && m["probe"] == "sockets" && b.s.Sockets == nil {
			b.s.Sockets = &record.Sockets{Layers: map[string]*record.LayerSockets{}}
		}
		if v == 0 {
			probe := string(m["probe"])
			b.s.Errors = append(b.s.Errors, probe+": failed on the remote exporter (soak_scrape_probe_success 0; its log says why)")
		}
	default:
		// A series a probe source registered (series.Def), exported as its
		// Metric: back into Values under its series name.
		d, ok := series.ByMetric(name)
		if !ok {
			break
		}
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return bad("a number")
		}
		if b.s.Values == nil {
			b.s.Values = map[string]float64{}
		}
		b.s.Values[d.Name] = v
	}
	return nil
}

func (b *builder) fds() *record.FDs {
	if b.s.FDs == nil {
		b.s.FDs = &record.FDs{}
	}
	return b.s.FDs
}

// bucketIndex is the index in record.IdleBucketsMs (or len for +Inf) of
// a histogram bucket's le label.
func bucketIndex(m model.Metric) (int, error) {
	le := string(m[model.BucketLabel])
	f, err := strconv.ParseFloat(le, 64)
	if err != nil {
		return 0, fmt.Errorf("%s: le %q is not a number", m, le)
	}
	if math.IsInf(f, 1) {
		return len(record.IdleBucketsMs), nil
	}
	i := slices.Index(record.IdleBucketsMs, int64(math.Round(f*1000)))
	if i < 0 {
		return 0, fmt.Errorf("%s: le %q is not one of soak's idle-age buckets", m, le)
	}
	return i, nil
}

// finish derives what the exporter sends in another form: totals from the
// parts, the idle histogram per bucket from its cumulative counts, and p50
// and p99 from the histogram (the bucket's upper bound, capped at the max:
// the exporter does not send them).
func (b *builder) finish(source string) {
	s := &b.s
	if g := s.Goroutines; g != nil && g.Source == record.SourcePprof {
		g.Total = 0
		for _, n := range g.ByClass {
			g.Total += n
		}
	}
	if f := s.FDs; f != nil {
		for _, n := range f.ByType {
			f.Total += n
		}
	}
	if s.Sockets == nil {
		return
	}
	s.Sockets.Method = source
	for name, cum := range b.idle {
		l := s.Sockets.Layers[name]
		if l.Idle == nil {
			l.Idle = &record.IdleStats{}
		}
		hist := make([]int, len(cum))
		var prev uint64
		for i, c := range cum {
			if c < prev { // not cumulative: a broken histogram is left out
				hist = nil
				break
			}
			hist[i] = int(c - prev)
			prev = c
		}
		if hist == nil {
			s.Errors = append(s.Errors, fmt.Sprintf("sockets: layer %s: idle-age histogram buckets are not cumulative", name))
			continue
		}
		l.Idle.Hist = hist
		l.Idle.P50 = histQuantile(hist, prev, 0.50, l.Idle.Max)
		l.Idle.P99 = histQuantile(hist, prev, 0.99, l.Idle.Max)
	}
}

// histQuantile is the upper bound of the bucket holding the q-quantile
// (nearest rank), capped at max.
func histQuantile(hist []int, total uint64, q float64, max int64) int64 {
	if total == 0 {
		return 0
	}
	rank := uint64(math.Ceil(q * float64(total)))
	var cum uint64
	for i, n := range hist {
		cum += uint64(n)
		if cum >= rank && i < len(record.IdleBucketsMs) {
			return min(record.IdleBucketsMs[i], max)
		}
	}
	return max
}
