package fakebackend

import (
	"context"
	"flag"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/soak-dev/soak/internal/testkit"
	"github.com/soak-dev/soak/record"
	"github.com/soak-dev/soak/scenarios"
)

func TestMain(m *testing.M) {
	flag.Parse()
	// Most tests wait (idle timeouts, slow clients, injected latency and
	// stalls) rather than compute: four at a time, not GOMAXPROCS. Not all
	// at once: on a loaded machine, 16 starved the ones that time a client
	// against a server (ledger idle ages, 200 ms header timeouts).
	testkit.Parallel(4)
	// opencensus (pulled in by cloud.google.com/go/storage) starts its
	// worker in an init function: not ours, never ends.
	goleak.VerifyTestMain(m, goleak.IgnoreTopFunction("go.opencensus.io/stats/view.(*worker).start"))
}

// memSink keeps ledger lines in memory.
type memSink struct{ record.MemSink }

func (s *memSink) lines() []record.Conn { return s.Conns() }

// waitLines waits (bounded) until the sink holds at least n lines.
func (s *memSink) waitLines(t *testing.T, n int, within time.Duration) []record.Conn {
	t.Helper()
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		if l := s.lines(); len(l) >= n {
			return l
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("ledger has %d lines, want >= %d after %v", len(s.lines()), n, within)
	return nil
}

// startBackend starts a backend on a free loopback port and closes it at
// the end of the test; tune, if given, sets the server's knobs first.
func startBackend(t *testing.T, cfg *scenarios.Backend, tune ...func(*server)) (Backend, *memSink) {
	t.Helper()
	sink := &memSink{}
	b, err := New("fake", cfg, sink)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	for _, f := range tune {
		f(b.(*server))
	}
	if err := b.Start(context.Background(), "127.0.0.1:0"); err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() {
		if err := b.Close(context.Background()); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return b, sink
}

// offsetClock is real time plus an offset the test moves forward, so fault
// windows and idle ages can be jumped past instead of slept through: a
// loaded machine cannot make a "during the window" call land after it.
type offsetClock struct {
	mu     sync.Mutex
	offset time.Duration
}

func (c *offsetClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.offset)
}

func (c *offsetClock) advance(d time.Duration) {
	c.mu.Lock()
	c.offset += d
	c.mu.Unlock()
}

// forEachKind runs body in a parallel subtest name/KIND per backend kind,
// against a backend of that kind with bucket "bkt", tuned by tune first.
func forEachKind(t *testing.T, name string, tune func(*server), body func(t *testing.T, kind string, s *server, sink *memSink)) {
	for _, kind := range []string{"s3", "gcs", "azure"} {
		t.Run(name+"/"+kind, func(t *testing.T) {
			t.Parallel()
			if kind == "gcs" && !gcsBuilt {
				t.Skip("built without -tags gcs")
			}
			b, sink := startBackend(t, &scenarios.Backend{Kind: kind, Buckets: []string{"bkt"}}, tune)
			body(t, kind, b.(*server), sink)
		})
	}
}

// startBackendClock is startBackend with the fault and ledger clocks on
// an offsetClock.
func startBackendClock(t *testing.T, cfg *scenarios.Backend) (Backend, *memSink, *offsetClock) {
	t.Helper()
	clk := &offsetClock{}
	b, sink := startBackend(t, cfg, func(s *server) { s.f.now, s.l.now = clk.now, clk.now })
	return b, sink, clk
}

// waitIdle waits (bounded) until b has n idle connections: the server
// marks a connection idle a moment after the client has its response, and
// an idle age measured from before that mark would start late.
func waitIdle(t *testing.T, b Backend, n int) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if b.Live().Idle >= n {
			return
		}
	}
	t.Fatalf("backend has %d idle connections, want %d", b.Live().Idle, n)
}
