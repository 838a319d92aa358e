package exporter

import (
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"go.uber.org/goleak"

	"github.com/soak-dev/soak/internal/testkit"
	"github.com/soak-dev/soak/probes"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// openSelf opens a collector on this test process as node sut, its sockets
// on port (either end) as layer client; closed when the test ends.
func openSelf(t *testing.T, port int) *Collector {
	t.Helper()
	c, err := New([]Target{{Node: "sut", PID: os.Getpid(), Probe: probes.Target{
		Layers: []probes.LayerRule{{Name: "client", LocalPorts: []int{port}}},
	}}}, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if err := c.Open(); err != nil {
		t.Fatal(err)
	}
	return c
}

// scrape GETs /metrics from the exporter's handler over real HTTP and
// parses the text exposition.
func scrape(t *testing.T, c *Collector) map[string]*dto.MetricFamily {
	t.Helper()
	h, err := Handler(c)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("scrape: %s: %s", resp.Status, b)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("parse exposition: %v", err)
	}
	return fams
}

// value returns the one sample of family name whose labels include want.
func value(t *testing.T, fams map[string]*dto.MetricFamily, name string, want map[string]string) (float64, bool) {
	t.Helper()
	f := fams[name]
	if f == nil {
		return 0, false
	}
	var found []*dto.Metric
next:
	for _, m := range f.Metric {
		have := map[string]string{}
		for _, l := range m.Label {
			have[l.GetName()] = l.GetValue()
		}
		for k, v := range want {
			if have[k] != v {
				continue next
			}
		}
		found = append(found, m)
	}
	switch {
	case len(found) == 0:
		return 0, false
	case len(found) > 1:
		t.Fatalf("%s%v: %d series, want one", name, want, len(found))
	}
	m := found[0]
	switch {
	case m.Gauge != nil:
		return m.Gauge.GetValue(), true
	case m.Counter != nil:
		return m.Counter.GetValue(), true
	case m.Histogram != nil:
		return float64(m.Histogram.GetSampleCount()), true
	}
	return 0, false
}

func TestExporterIdleConnections(t *testing.T) {
	const n = 5
	port, _ := testkit.HoldIdle(t, n)
	held := time.Now()
	c := openSelf(t, port)
	time.Sleep(300 * time.Millisecond) // idle ages to measure
	fams := scrape(t, c)
	since := time.Since(held).Seconds()

	pid := strconv.Itoa(os.Getpid())
	got, ok := value(t, fams, "soak_sockets", map[string]string{"node": "sut", "pid": pid, "layer": "client", "state": "ESTABLISHED", "side": "server"})
	if !ok || got != n {
		t.Errorf("soak_sockets{layer=client,state=ESTABLISHED,side=server} = %v (found %v), want %d", got, ok, n)
	}
	idle, ok := value(t, fams, "soak_socket_idle_max_seconds", map[string]string{"layer": "client"})
	// The kernel's idle age is at least the sleep and at most the time since the dials.
	if !ok || idle < 0.25 || idle > since+0.1 {
		t.Errorf("soak_socket_idle_max_seconds{layer=client} = %v (found %v), want 0.25..%.3f", idle, ok, since+0.1)
	}
	if count, ok := value(t, fams, "soak_socket_idle_age_seconds", map[string]string{"layer": "client"}); !ok || count != n {
		t.Errorf("soak_socket_idle_age_seconds{layer=client} count = %v (found %v), want %d", count, ok, n)
	}
	if rss, ok := value(t, fams, "soak_process_resident_memory_bytes", map[string]string{"node": "sut"}); !ok || rss <= 0 {
		t.Errorf("soak_process_resident_memory_bytes = %v (found %v), want > 0", rss, ok)
	}
	// The test process holds 2n sockets of its own (both ends) plus the listener.
	if fds, ok := value(t, fams, "soak_fds", map[string]string{"type": "socket"}); !ok || fds < 2*n+1 {
		t.Errorf("soak_fds{type=socket} = %v (found %v), want >= %d", fds, ok, 2*n+1)
	}
	whole, _ := value(t, fams, "soak_scrape_duration_seconds", map[string]string{"node": "sut"})
	for _, p := range []string{"process", "fds", "sockets"} {
		if ok, found := value(t, fams, "soak_scrape_probe_success", map[string]string{"node": "sut", "probe": p}); !found || ok != 1 {
			t.Errorf("soak_scrape_probe_success{probe=%s} = %v (found %v), want 1", p, ok, found)
		}
		// Each probe's time is part of the whole sample's.
		if d, found := value(t, fams, "soak_scrape_probe_duration_seconds", map[string]string{"node": "sut", "probe": p}); !found || d <= 0 || d > whole {
			t.Errorf("soak_scrape_probe_duration_seconds{probe=%s} = %v (found %v), want in (0, %v]", p, d, found, whole)
		}
	}
	if _, found := value(t, fams, "soak_scrape_probe_success", map[string]string{"probe": "goroutines"}); found {
		t.Error("goroutines success exported without a pprof or metrics URL")
	}
}

// Connections the server closes between two scrapes are counted as closed
// by the server, with their idle time before close.
func TestExporterClosedConnections(t *testing.T) {
	const n = 3
	port, servers := testkit.HoldIdle(t, n)
	c := openSelf(t, port)
	want := map[string]string{"layer": "client", "side": "server", "closed_by": "server"}
	if _, ok := value(t, scrape(t, c), "soak_connections_closed_total", want); ok {
		t.Fatal("closed connections before any closed")
	}
	time.Sleep(200 * time.Millisecond)
	for _, s := range servers {
		s.Close()
	}
	fams := scrape(t, c)
	if got, ok := value(t, fams, "soak_connections_closed_total", want); !ok || got != n {
		t.Errorf("soak_connections_closed_total%v = %v (found %v), want %d", want, got, ok, n)
	}
	if got, ok := value(t, fams, "soak_connection_idle_before_close_seconds", want); !ok || got != n {
		t.Errorf("soak_connection_idle_before_close_seconds%v count = %v (found %v), want %d", want, got, ok, n)
	}
}

// A probe that fails is a 0, not a failed scrape: the goroutine endpoint
// refuses, and a pid file names no process.
func TestExporterProbeFailure(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := "http://" + ln.Addr().String() + "/debug/pprof/goroutine?debug=1"
	ln.Close() // connections to it are refused
	pidFile := filepath.Join(t.TempDir(), "gone.pid")
	if err := os.WriteFile(pidFile, []byte("999999999\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var (
		mu     sync.Mutex
		logged []string
	)
	c, err := New([]Target{
		{Node: "sut", PID: os.Getpid(), Probe: probes.Target{GoroutinesURL: dead}},
		{Node: "gone", PIDFile: pidFile},
	}, time.Second, probes.FetchTimeout(500*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	c.Logf = func(f string, a ...any) { mu.Lock(); logged = append(logged, f); mu.Unlock() }
	defer c.Close()
	if err := c.Open(); err != nil {
		t.Fatal(err)
	}
	fams := scrape(t, c)
	for _, tc := range []struct {
		node, probe string
		want        float64
	}{
		{"sut", "goroutines", 0},
		{"sut", "process", 1},
		{"sut", "sockets", 1},
		{"gone", "process", 0},
		{"gone", "sockets", 0},
	} {
		got, ok := value(t, fams, "soak_scrape_probe_success", map[string]string{"node": tc.node, "probe": tc.probe})
		if !ok || got != tc.want {
			t.Errorf("soak_scrape_probe_success{node=%s,probe=%s} = %v (found %v), want %v", tc.node, tc.probe, got, ok, tc.want)
		}
	}
	if _, ok := value(t, fams, "soak_goroutines", map[string]string{"node": "sut"}); ok {
		t.Error("soak_goroutines exported although the endpoint refused")
	}
	if _, ok := value(t, fams, "soak_process_resident_memory_bytes", map[string]string{"node": "gone"}); ok {
		t.Error("node gone has process metrics")
	}
	if len(logged) == 0 {
		t.Error("failures not logged")
	}
}

func TestReadPIDFile(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		body, err string
		pid       int
	}{
		{"42\n", "", 42},
		{" 7 ", "", 7},
		{"", "is not a pid", 0},
		{"-3", "is not a pid", 0},
		{"12abc", "is not a pid", 0},
		{strings.Repeat("1", 100), "not a pid", 0},
	} {
		p := filepath.Join(dir, "p")
		if err := os.WriteFile(p, []byte(tc.body), 0o600); err != nil {
			t.Fatal(err)
		}
		pid, err := readPIDFile(p)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%q: err %v, want %q", tc.body, err, tc.err)
			}
			continue
		}
		if err != nil || pid != tc.pid {
			t.Errorf("%q: %d, %v; want %d", tc.body, pid, err, tc.pid)
		}
	}
	if _, err := readPIDFile(filepath.Join(dir, "missing")); err == nil {
		t.Error("missing pid file: no error")
	}
}

// With the kernel event witness, connections that open and close between
// two scrapes (which polling never sees) are counted, and the witness is
// named; without it, the same connections are not counted and the
// witness says polling.
func TestExporterClosedConnectionsKernelEvents(t *testing.T) {
	const n = 20
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Go(func() { // reads each connection to its end, then closes it
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Go(func() { io.Copy(io.Discard, c); c.Close() })
		}
	})
	port := ln.Addr().(*net.TCPAddr).Port
	open := func(opts ...probes.Option) *Collector {
		c, err := New([]Target{{Node: "sut", PID: os.Getpid(), Probe: probes.Target{
			Layers: []probes.LayerRule{{Name: "client", LocalPorts: []int{port}}},
		}}}, 0, opts...)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(c.Close)
		if err := c.Open(); err != nil {
			t.Fatal(err)
		}
		return c
	}
	// Whether the kernel lets this process run the witness at all.
	s, err := probes.NewSampler(probes.Target{PID: os.Getpid(), Layers: []probes.LayerRule{{Name: "client", LocalPorts: []int{port}}}},
		probes.KernelEvents(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	method, why := s.EventsMethod(), s.EventsFallback()
	s.Close()
	if method != "kernel-events" {
		t.Skipf("kernel event witness unavailable: %s", why)
	}
	kev, poll := open(probes.KernelEvents(time.Second)), open()
	fams := scrape(t, kev)
	if _, ok := value(t, fams, "soak_connections_witness", map[string]string{"witness": "kernel-events"}); !ok {
		t.Error("soak_connections_witness{witness=kernel-events} missing")
	}
	scrape(t, poll)
	for range n {
		c, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(port))
		if err != nil {
			t.Fatal(err)
		}
		c.Close()
	}
	want := map[string]string{"layer": "client", "side": "server", "closed_by": "client"}
	var got float64
	for deadline := time.Now().Add(5 * time.Second); got < n && time.Now().Before(deadline); {
		time.Sleep(50 * time.Millisecond) // the ring is read every 100 ms
		got, _ = value(t, scrape(t, kev), "soak_connections_closed_total", want)
	}
	if got != n {
		t.Errorf("with kernel events: soak_connections_closed_total%v = %v, want %d", want, got, n)
	}
	fams = scrape(t, poll)
	if got, ok := value(t, fams, "soak_connections_closed_total", want); ok {
		t.Errorf("polling counted %v connections that opened and closed between scrapes; want none seen", got)
	}
	if _, ok := value(t, fams, "soak_connections_witness", map[string]string{"witness": "kernel"}); !ok {
		t.Error("polling: soak_connections_witness{witness=kernel} missing")
	}
}
