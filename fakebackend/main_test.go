package fakebackend

import (
	"context"
	"testing"
	"time"

	"github.com/soak-dev/soak/record"
	"github.com/soak-dev/soak/scenarios"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
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
// the end of the test.
func startBackend(t *testing.T, cfg *scenarios.Backend) (Backend, *memSink) {
	t.Helper()
	sink := &memSink{}
	b, err := New("fake", cfg, sink)
	if err != nil {
		t.Fatalf("New: %v", err)
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
