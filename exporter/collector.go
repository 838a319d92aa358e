// Package exporter serves the probes' samples as Prometheus metrics
// (`soak probe --listen`, node_exporter style): one probe sample per
// process per scrape, turned into const metrics by a custom collector.
package exporter

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/soak-dev/soak/probes"
	"github.com/soak-dev/soak/record"
	"github.com/soak-dev/soak/series"
)

// DefaultScrapeTimeout bounds one scrape's sample of each process.
const DefaultScrapeTimeout = 5 * time.Second

// Target is what to export: a fixed pid, or a pid file read at every
// scrape (so a restarted server is followed), or every process of a name
// or of a cgroup (a container's), found again at every scrape. Exactly one
// of PID, PIDFile, ProcessName and Cgroup.
type Target struct {
	Node    string // the node label; default the pid (or the pid file, name or cgroup)
	PID     int
	PIDFile string
	// ProcessName selects the processes whose comm (as ps shows it) or
	// argv[0]'s base name is this name; each is exported with its pid.
	ProcessName string
	// Cgroup selects the processes of a cgroup v2 and the cgroups below it:
	// a directory (/sys/fs/cgroup/...) or a path as /proc/PID/cgroup shows
	// it (/system.slice/docker-ID.scope).
	Cgroup string
	// Probe is the sampler's target without the pid (URLs, layer rules).
	Probe probes.Target
}

// Collector is a prometheus.Collector that takes one probe sample of each
// target per scrape. A probe that fails is exported as
// soak_scrape_probe_success 0, never as a failed scrape.
type Collector struct {
	timeout time.Duration
	opts    []probes.Option
	targets []*target
	groups  []*group // targets by process name or cgroup
	// Logf, when set, is told why a probe failed (soak_scrape_probe_success 0).
	// Targets are sampled at once: it must be safe for concurrent use (log.Printf is).
	Logf func(format string, args ...any)
}

// target holds one process's sampler between scrapes. mu serialises
// scrapes: a Sampler is used by one goroutine at a time.
type target struct {
	Target
	mu      sync.Mutex
	sampler *probes.Sampler
	pid     int    // the sampler's pid
	witness string // the witness of the connections counted in closed
	lost    int64  // the kernel event witness's lost events, last scrape
	// closed accumulates the connections the sampler saw end, since it was
	// opened: bounded by layers x sides x closers.
	closed map[closeKey]*closeStats
}

type closeKey struct{ layer, side, closedBy string }

// closeStats is one counter and one cumulative histogram of idle before close.
type closeStats struct {
	n       uint64
	buckets []uint64 // per record.IdleBucketsMs bound, not cumulative
	sumSec  float64
}

// New makes a collector over targets; every scrape's sample of a target is
// bounded by timeout (0: DefaultScrapeTimeout). opts are the samplers' options.
func New(targets []Target, timeout time.Duration, opts ...probes.Option) (*Collector, error) {
	if len(targets) == 0 {
		return nil, fmt.Errorf("exporter: no process to export")
	}
	if timeout <= 0 {
		timeout = DefaultScrapeTimeout
	}
	c := &Collector{timeout: timeout, opts: opts}
	seen := map[string]bool{}
	for _, t := range targets {
		if t.Node == "" {
			t.Node = cmp.Or(t.PIDFile, t.ProcessName, t.Cgroup, strconv.Itoa(t.PID))
		}
		if seen[t.Node] {
			return nil, fmt.Errorf("exporter: node %q given twice", t.Node)
		}
		seen[t.Node] = true
		if t.ProcessName != "" || t.Cgroup != "" {
			c.groups = append(c.groups, &group{Target: t, members: map[int]*target{}})
			continue
		}
		c.targets = append(c.targets, &target{Target: t})
	}
	return c, nil
}

// Open opens the samplers of fixed-pid targets now, so a wrong pid or a
// missing permission is an error at start, not a zero at every scrape.
// Pid-file targets open at their first scrape (the file may come later).
func (c *Collector) Open() error {
	for _, t := range c.targets {
		if t.PIDFile != "" {
			continue
		}
		if err := t.open(t.PID, c.opts, c.Logf); err != nil {
			return fmt.Errorf("exporter: node %s: %w", t.Node, err)
		}
	}
	return nil
}

// Close releases every sampler.
func (c *Collector) Close() {
	for _, t := range c.targets {
		t.mu.Lock()
		t.drop()
		t.mu.Unlock()
	}
	for _, g := range c.groups {
		g.mu.Lock()
		for _, t := range g.members {
			t.mu.Lock()
			t.drop()
			t.mu.Unlock()
		}
		g.mu.Unlock()
	}
}

// open makes the process's sampler, and says (to logf) why connections'
// lives come from polling when the kernel event witness was asked for and
// does not run.
func (t *target) open(pid int, opts []probes.Option, logf func(string, ...any)) error {
	pt := t.Probe
	pt.Node, pt.PID = t.Node, pid
	s, err := probes.NewSampler(pt, opts...)
	if err != nil {
		return err
	}
	t.sampler, t.pid, t.closed, t.lost = s, pid, map[closeKey]*closeStats{}, 0
	// Closed connections are counted from one witness: the kernel's events
	// (every connection) when they run, else the polling tracker's.
	t.witness = record.WitnessKernel
	if s.EventsMethod() == record.WitnessKernelEvents {
		t.witness = record.WitnessKernelEvents
	} else if why := s.EventsFallback(); why != "" && logf != nil {
		logf("node %s: closed connections from polling only (one look per scrape), not kernel events: %s", t.Node, why)
	}
	return nil
}

func (t *target) drop() {
	if t.sampler != nil {
		t.sampler.Close()
		t.sampler = nil
	}
}

// readPIDFile reads a pid file: one positive integer, as daemons write it.
func readPIDFile(path string) (int, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, fmt.Errorf("read pid file: %w", err)
	}
	if len(b) > 64 {
		return 0, fmt.Errorf("pid file %s: %d bytes, not a pid", path, len(b))
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 {
		return 0, fmt.Errorf("pid file %s: %q is not a pid", path, strings.TrimSpace(string(b)))
	}
	return pid, nil
}

// The metrics. Labels node and pid are on every per-process metric.
var (
	descSockets = prometheus.NewDesc("soak_sockets",
		"TCP sockets of the process by layer and kernel state; ESTABLISHED ones also by side (server: accepted, client: dialled). Listening sockets are not counted.",
		[]string{"node", "pid", "layer", "state", "side"}, nil)
	descIdleConns = prometheus.NewDesc("soak_sockets_idle",
		"ESTABLISHED sockets idle for at least 1 s, by layer.",
		[]string{"node", "pid", "layer"}, nil)
	descIdleMax = prometheus.NewDesc("soak_socket_idle_max_seconds",
		"Longest idle age of an ESTABLISHED socket of the layer (kernel tcp_info; estimated from first seen with --proc).",
		[]string{"node", "pid", "layer"}, nil)
	descIdleAge = prometheus.NewDesc("soak_socket_idle_age_seconds",
		"Idle ages of the layer's ESTABLISHED sockets now (a snapshot, not cumulative; the sum is not measured and is NaN).",
		[]string{"node", "pid", "layer"}, nil)
	descCloseWaitAge = prometheus.NewDesc("soak_socket_close_wait_max_age_seconds",
		"Age of the oldest socket of the layer in CLOSE_WAIT now, from the scrape that first saw it there.",
		[]string{"node", "pid", "layer"}, nil)
	descClosed = prometheus.NewDesc("soak_connections_closed_total",
		"Connections of the layer seen to end since the exporter started watching the process, by side and by which side closed first; soak_connections_witness says whether from kernel events (every connection) or polling (from consecutive scrapes: connections that open and close between two scrapes are not seen).",
		[]string{"node", "pid", "layer", "side", "closed_by"}, nil)
	descIdleBeforeClose = prometheus.NewDesc("soak_connection_idle_before_close_seconds",
		"Idle time before close of each connection counted in soak_connections_closed_total: exact to the kernel's tick from kernel events, the last idle age seen (to one scrape interval) from polling.",
		[]string{"node", "pid", "layer", "side", "closed_by"}, nil)
	descWitness = prometheus.NewDesc("soak_connections_witness",
		"1 for the witness of soak_connections_closed_total: kernel-events (BPF on inet_sock_set_state) or kernel (polling, when the kernel event witness cannot run: see the exporter's log).",
		[]string{"node", "pid", "witness"}, nil)
	descEventsLost = prometheus.NewDesc("soak_kernel_events_lost_total",
		"Events the kernel event witness lost (its ring buffer was full) since the process was opened: closed connections missing from soak_connections_closed_total.",
		[]string{"node", "pid"}, nil)
	descGoroutines = prometheus.NewDesc("soak_goroutines",
		"Goroutines of the process by class (from pprof); class \"all\" when only go_goroutines from --metrics answered.",
		[]string{"node", "pid", "class"}, nil)
	descFDs = prometheus.NewDesc("soak_fds",
		"Open file descriptors of the process by type.",
		[]string{"node", "pid", "type"}, nil)
	descFDLimit = prometheus.NewDesc("soak_fds_limit",
		"Soft RLIMIT_NOFILE of the process.",
		[]string{"node", "pid"}, nil)
	descRSS = prometheus.NewDesc("soak_process_resident_memory_bytes",
		"Resident set size of the process.",
		[]string{"node", "pid"}, nil)
	descCPU = prometheus.NewDesc("soak_process_cpu_seconds_total",
		"User and system CPU time of the process.",
		[]string{"node", "pid"}, nil)
	descThreads = prometheus.NewDesc("soak_process_threads",
		"OS threads of the process.",
		[]string{"node", "pid"}, nil)
	// pid is "" when no process was found (a pid file naming none).
	descSuccess = prometheus.NewDesc("soak_scrape_probe_success",
		"1 when the probe read its part of this scrape's sample, 0 when it failed (see the exporter's log).",
		[]string{"node", "pid", "probe"}, nil)
	descDuration = prometheus.NewDesc("soak_scrape_duration_seconds",
		"Time this scrape's sample of the process took (all probes; they overlap).",
		[]string{"node", "pid"}, nil)
	descProbeDuration = prometheus.NewDesc("soak_scrape_probe_duration_seconds",
		"Time each probe took in this scrape's sample of the process (node_exporter's scrape_collector_duration_seconds); for goroutines, the time the sample waited for the fetch, which runs while the other probes read.",
		[]string{"node", "pid", "probe"}, nil)
)

// descRegistered are the metrics of the series probe sources registered
// (series.Def), by series name: probes registered them at its init,
// before this package's.
var descRegistered = func() map[string]*prometheus.Desc {
	out := map[string]*prometheus.Desc{}
	for _, d := range series.Registered() {
		out[d.Name] = prometheus.NewDesc(d.Metric(), d.Help+" ("+d.Unit+"; series "+d.Name+")", []string{"node", "pid"}, nil)
	}
	return out
}()

// probeNames are the parts of a sample soak_scrape_probe_success reports.
// goroutines only when a pprof or metrics URL is given (else it would be
// OS threads, exported as soak_process_threads).
var probeNames = []string{"process", "fds", "sockets", "goroutines"}

// Describe sends every descriptor: the collector is checked, not unchecked.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descSockets, descIdleConns, descIdleMax, descIdleAge,
		descCloseWaitAge, descClosed, descIdleBeforeClose, descWitness, descEventsLost, descGoroutines, descFDs, descFDLimit, descRSS, descCPU, descThreads,
		descSuccess, descDuration, descProbeDuration} {
		ch <- d
	}
	for _, d := range descRegistered {
		ch <- d
	}
}

// Collect samples every target at once, each bounded by the timeout.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	var wg sync.WaitGroup
	for _, t := range c.targets {
		wg.Go(func() { c.collect(t, ch) })
	}
	for _, g := range c.groups {
		wg.Go(func() { c.collectGroup(g, ch) })
	}
	wg.Wait()
}

func (c *Collector) collect(t *target, ch chan<- prometheus.Metric) {
	t.mu.Lock()
	defer t.mu.Unlock()
	begin := time.Now()
	failed := map[string]string{}
	smp, took, err := c.sample(t)
	pid := ""
	switch {
	case err == nil:
		pid = strconv.Itoa(smp.PID)
	case t.PID != 0:
		pid = strconv.Itoa(t.PID)
	}
	ch <- prometheus.MustNewConstMetric(descDuration, prometheus.GaugeValue, time.Since(begin).Seconds(), t.Node, pid)
	for probe, d := range took {
		ch <- prometheus.MustNewConstMetric(descProbeDuration, prometheus.GaugeValue, d.Seconds(), t.Node, pid, probe)
	}
	if err != nil {
		for _, p := range probeNames {
			failed[p] = err.Error()
		}
	} else {
		for _, e := range smp.Errors {
			name, _, _ := strings.Cut(e, ":")
			failed[name] = e
		}
		if smp.Gone {
			failed["process"] = "process gone"
		}
		c.export(t, smp, ch)
	}
	if c.Logf != nil {
		if err != nil {
			c.Logf("node %s: %v", t.Node, err)
		}
		for _, e := range smp.Errors {
			c.Logf("node %s: %s", t.Node, e)
		}
	}
	for _, p := range probeNames {
		if p == "goroutines" && t.Probe.GoroutinesURL == "" && t.Probe.MetricsURL == "" {
			continue
		}
		ok := 1.0
		if _, bad := failed[p]; bad || (err == nil && !hasPart(smp, p)) {
			ok = 0
		}
		ch <- prometheus.MustNewConstMetric(descSuccess, prometheus.GaugeValue, ok, t.Node, pid, p)
	}
}

// sample resolves the pid, (re)opens the sampler and takes one sample;
// took is each probe's time in it.
func (c *Collector) sample(t *target) (smp record.Sample, took map[string]time.Duration, err error) {
	pid := t.PID
	if t.PIDFile != "" {
		if pid, err = readPIDFile(t.PIDFile); err != nil {
			t.drop()
			return record.Sample{}, nil, err
		}
	}
	if t.sampler != nil && t.pid != pid {
		t.drop() // the pid file names a new process
	}
	if t.sampler == nil {
		if err := t.open(pid, c.opts, c.Logf); err != nil {
			return record.Sample{}, nil, err
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
	defer cancel()
	smp, ended := t.sampler.Sample(ctx, time.Now())
	took = t.sampler.Durations()
	t.count(ended)
	if smp.Events != nil {
		t.lost = smp.Events.Lost
	}
	if smp.Gone {
		t.drop() // reopened at the next scrape: a pid file may name its successor
	}
	return smp, took, nil
}

// count adds the connections that ended this scrape to the totals.
func (t *target) count(ended []record.Conn) {
	for _, c := range ended {
		if c.ClosedBy == record.OpenAtEnd || c.Witness != t.witness {
			continue
		}
		k := closeKey{c.Layer, c.Side, c.ClosedBy}
		st := t.closed[k]
		if st == nil {
			st = &closeStats{buckets: make([]uint64, len(record.IdleBucketsMs))}
			t.closed[k] = st
		}
		st.n++
		st.sumSec += float64(c.IdleBeforeCloseMs) / 1000
		if i, _ := slices.BinarySearch(record.IdleBucketsMs, c.IdleBeforeCloseMs); i < len(st.buckets) {
			st.buckets[i]++
		}
	}
}

func hasPart(s record.Sample, probe string) bool {
	switch probe {
	case "process":
		return s.Process != nil
	case "fds":
		return s.FDs != nil
	case "sockets":
		return s.Sockets != nil
	case "goroutines":
		return s.Goroutines != nil && s.Goroutines.Source != record.SourceThreads
	}
	return false
}

func (c *Collector) export(t *target, s record.Sample, ch chan<- prometheus.Metric) {
	node, pid := t.Node, strconv.Itoa(s.PID)
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, append([]string{node, pid}, labels...)...)
	}
	if p := s.Process; p != nil {
		gauge(descRSS, float64(p.RSS))
		gauge(descThreads, float64(p.Threads))
		ch <- prometheus.MustNewConstMetric(descCPU, prometheus.CounterValue, p.CPUSeconds, node, pid)
	}
	if f := s.FDs; f != nil {
		for typ, n := range f.ByType {
			gauge(descFDs, float64(n), typ)
		}
		if f.Limit > 0 {
			gauge(descFDLimit, float64(f.Limit))
		}
	}
	if g := s.Goroutines; g != nil && g.Source != record.SourceThreads {
		if len(g.ByClass) == 0 {
			gauge(descGoroutines, float64(g.Total), "all")
		}
		for class, n := range g.ByClass {
			gauge(descGoroutines, float64(n), class)
		}
	}
	if t.witness != "" {
		gauge(descWitness, 1, t.witness)
	}
	if t.witness == record.WitnessKernelEvents {
		ch <- prometheus.MustNewConstMetric(descEventsLost, prometheus.CounterValue, float64(t.lost), node, pid)
	}
	for k, st := range t.closed {
		ch <- prometheus.MustNewConstMetric(descClosed, prometheus.CounterValue, float64(st.n), node, pid, k.layer, k.side, k.closedBy)
		buckets := make(map[float64]uint64, len(st.buckets))
		var cum uint64
		for i, bound := range record.IdleBucketsMs {
			cum += st.buckets[i]
			buckets[float64(bound)/1000] = cum
		}
		ch <- prometheus.MustNewConstHistogram(descIdleBeforeClose, st.n, st.sumSec, buckets, node, pid, k.layer, k.side, k.closedBy)
	}
	if s.Sockets != nil {
		for name, l := range s.Sockets.Layers {
			exportLayer(ch, node, pid, name, l)
		}
	}
	for name, v := range s.Values {
		if d := descRegistered[name]; d != nil {
			gauge(d, v)
		}
	}
}

func exportLayer(ch chan<- prometheus.Metric, node, pid, layer string, l *record.LayerSockets) {
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, append([]string{node, pid, layer}, labels...)...)
	}
	for state, n := range l.ByState {
		if state != series.Established {
			gauge(descSockets, float64(n), state, "")
			continue
		}
		// Split ESTABLISHED by side; anything the sides miss stays visible.
		rest := n
		for side, m := range l.Sides {
			gauge(descSockets, float64(m), state, side)
			rest -= m
		}
		if rest > 0 {
			gauge(descSockets, float64(rest), state, "unknown")
		}
	}
	gauge(descIdleConns, float64(l.IdleConns))
	gauge(descCloseWaitAge, float64(l.CloseWaitMaxAgeMs)/1000)
	if l.Idle == nil {
		return
	}
	gauge(descIdleMax, float64(l.Idle.Max)/1000)
	if len(l.Idle.Hist) != len(record.IdleBucketsMs)+1 {
		return
	}
	buckets := make(map[float64]uint64, len(record.IdleBucketsMs))
	var cum uint64
	for i, bound := range record.IdleBucketsMs {
		cum += uint64(l.Idle.Hist[i])
		buckets[float64(bound)/1000] = cum
	}
	cum += uint64(l.Idle.Hist[len(record.IdleBucketsMs)])
	ch <- prometheus.MustNewConstHistogram(descIdleAge, cum, math.NaN(), buckets, node, pid, layer)
}
