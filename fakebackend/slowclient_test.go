package fakebackend

import (
	"context"
	"io"
	"net"
	"testing"
	"time"

	"github.com/soak-dev/soak/record"
	"github.com/soak-dev/soak/scenarios"
)

// TestSlowClientsAreCut: a client that trickles its headers (slowloris) or
// stalls in its body was held forever. With short timeouts set here, each
// is cut, and the ledger still records what the client sent and that a
// timeout closed it.
func TestSlowClientsAreCut(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ name, send string }{
		{"headers trickle", "PUT /bkt/k HTTP/1.1\r\nHost: x\r\nX-Slow: a"},
		{"body stalls", "PUT /bkt/k HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n0123456789"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			for _, kind := range []string{"s3", "gcs", "azure"} {
				sink := &memSink{}
				b, err := New("slow", &scenarios.Backend{Kind: kind, Buckets: []string{"bkt"}}, sink)
				if err != nil && kind == "gcs" {
					continue // built without -tags gcs
				}
				if err != nil {
					t.Fatal(err)
				}
				s := b.(*server)
				s.headerTimeout, s.bodyIdleTimeout = 200*time.Millisecond, 200*time.Millisecond
				if err := b.Start(context.Background(), "127.0.0.1:0"); err != nil {
					t.Fatal(err)
				}
				c, err := net.Dial("tcp", b.(*server).ln.Addr().String())
				if err != nil {
					t.Fatal(err)
				}
				if _, err := io.WriteString(c, tc.send); err != nil {
					t.Fatal(err)
				}
				// Bounded only so a regression fails instead of hanging.
				_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
				_, err = io.ReadAll(c)
				c.Close()
				if err != nil {
					t.Errorf("%s: connection still held after 10 s: %v", kind, err)
				}
				lines := sink.waitLines(t, 1, 10*time.Second)
				if got := lines[0]; got.ClosedBy != record.ClosedByTimeout || got.BytesIn != int64(len(tc.send)) {
					t.Errorf("%s: ledger says closed_by %q, bytes_in %d; want timeout, %d", kind, got.ClosedBy, got.BytesIn, len(tc.send))
				}
				if err := b.Close(context.Background()); err != nil {
					t.Error(err)
				}
			}
		})
	}
}
