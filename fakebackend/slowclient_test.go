package fakebackend

import (
	"io"
	"net"
	"testing"
	"time"

	"github.com/soak-dev/soak/record"
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
		tune := func(s *server) { s.headerTimeout, s.bodyIdleTimeout = 200*time.Millisecond, 200*time.Millisecond }
		forEachKind(t, tc.name, tune, func(t *testing.T, _ string, s *server, sink *memSink) {
			c, err := net.Dial("tcp", s.ln.Addr().String())
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
				t.Errorf("connection still held after 10 s: %v", err)
			}
			lines := sink.waitLines(t, 1, 10*time.Second)
			if got := lines[0]; got.ClosedBy != record.ClosedByTimeout || got.BytesIn != int64(len(tc.send)) {
				t.Errorf("ledger says closed_by %q, bytes_in %d; want timeout, %d", got.ClosedBy, got.BytesIn, len(tc.send))
			}
		})
	}
}
