package remote

import (
	"context"
	"net/http"
	"net/http/httptest"
	_ "net/http/pprof"
	"os"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/soak-dev/soak/exporter"
	"github.com/soak-dev/soak/internal/testkit"
	"github.com/soak-dev/soak/probes"
	"github.com/soak-dev/soak/record"
	"github.com/soak-dev/soak/series"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestExporterMatchesLocalSample: the test process holds 5 idle
// connections and serves its own pprof; soak's exporter (package
// exporter, over real HTTP) exports it, and the sample read back from the
// exposition holds what a local sample of the same process holds.
func TestExporterMatchesLocalSample(t *testing.T) {
	port, _ := testkit.HoldIdle(t, 5)
	pprof := httptest.NewServer(http.DefaultServeMux)
	defer pprof.Close()
	target := probes.Target{GoroutinesURL: pprof.URL + "/debug/pprof/goroutine?debug=1",
		Layers: []probes.LayerRule{{Name: "client", LocalPorts: []int{port}}}}
	c, err := exporter.New([]exporter.Target{{Node: "self", PID: os.Getpid(), Probe: target}}, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Open(); err != nil {
		t.Fatal(err)
	}
	h, err := exporter.Handler(c)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()
	time.Sleep(1100 * time.Millisecond) // idle past record.IdleThresholdMs

	e, err := NewExporter("proxy", srv.URL+"/metrics", "")
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	now := time.Now()
	got, conns := e.Sample(context.Background(), now)
	if len(got.Errors) > 0 || len(conns) != 0 {
		t.Fatalf("errors %v, conns %d", got.Errors, len(conns))
	}
	if got.Node != "proxy" || !got.Time.Equal(now) || got.PID != os.Getpid() {
		t.Errorf("node %q time %v pid %d, want proxy, %v, %d", got.Node, got.Time, got.PID, now, os.Getpid())
	}
	l := got.Sockets.Layers["client"]
	if l == nil {
		t.Fatalf("no layer client in %+v", got.Sockets)
	}
	if l.ByState[series.Established] != 5 || l.Sides["server"] != 5 || l.IdleConns != 5 {
		t.Errorf("client layer %+v: want 5 ESTABLISHED server-side sockets, 5 idle", l)
	}
	if l.Idle == nil || l.Idle.Max < 1000 || len(l.Idle.Hist) != len(record.IdleBucketsMs)+1 {
		t.Fatalf("idle %+v: want max >= 1 s and a full histogram", l.Idle)
	}
	total := 0
	for _, n := range l.Idle.Hist {
		total += n
	}
	if total != 5 || l.Idle.P99 < 1000 || l.Idle.P99 > l.Idle.Max {
		t.Errorf("idle histogram %v (p99 %d, max %d): want 5 ages, p99 in [1000, max]", l.Idle.Hist, l.Idle.P99, l.Idle.Max)
	}
	if got.Sockets.Method != SourceExporter {
		t.Errorf("method %q", got.Sockets.Method)
	}
	// The same figures as a local sample of this process, taken now.
	s, err := probes.NewSampler(probes.Target{Node: "self", PID: os.Getpid(), GoroutinesURL: target.GoroutinesURL, Layers: target.Layers})
	if err != nil {
		t.Fatal(err)
	}
	local, _ := s.Sample(context.Background(), time.Now())
	s.Close()
	// Both ends of the 5 connections at least (samplers, scrapes and
	// pprof fetches add their own sockets, which come and go).
	if got := got.FDs.ByType[record.FDSocket]; got < 10 {
		t.Errorf("socket fds %d, want >= 10", got)
	}
	if got.FDs.Total == 0 || got.FDs.Limit != local.FDs.Limit {
		t.Errorf("fds %+v, local %+v", got.FDs, local.FDs)
	}
	if got.Goroutines == nil || got.Goroutines.Source != record.SourcePprof || got.Goroutines.Total == 0 ||
		got.Goroutines.ByClass[record.ClassServerConn] == 0 {
		t.Errorf("goroutines %+v: want pprof classes with the scrape's server-conn", got.Goroutines)
	}
	if got.Process == nil || got.Process.RSS == 0 || got.Process.Threads == 0 {
		t.Errorf("process %+v", got.Process)
	}
}
