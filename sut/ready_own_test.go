package sut

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/soak-dev/soak/internal/ownconns"
)

// TestWaitReadyOwnConns: the readiness probe's connections, HTTP and
// tcp://, are soak's own dialled ends: in the set, open then closed.
func TestWaitReadyOwnConns(t *testing.T) {
	seen := make(chan net.Addr, 4)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	srv.Config.ConnState = func(c net.Conn, s http.ConnState) {
		if s == http.StateNew {
			seen <- c.RemoteAddr()
		}
	}
	srv.Start()
	defer srv.Close()
	p, err := Start(Spec{Name: "n", Argv: []string{"sleep", "30"}, LogPath: filepath.Join(t.TempDir(), "l")})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Stop(time.Second)
	server := ownconns.AddrPort(srv.Listener.Addr())
	for _, ready := range []string{srv.URL, "tcp://" + srv.Listener.Addr().String()} {
		own := ownconns.New(0)
		if err := WaitReady(context.Background(), p, ready, 5*time.Second, ReadyOwnConns(own)); err != nil {
			t.Fatalf("%s: %v", ready, err)
		}
		client := ownconns.AddrPort(<-seen)
		if !own.Has(client, server) {
			t.Errorf("%s: the probe's connection %v -> %v is not in the set", ready, client, server)
		}
		// net/http closes a connection without keep-alive from its read
		// loop, after the response was handed over: wait for it.
		deadline := time.Now().Add(10 * time.Second)
		for {
			open, closed := own.Len()
			if open == 0 && closed == 1 {
				break
			}
			if open+closed != 1 || time.Now().After(deadline) {
				t.Fatalf("%s: set holds %d open, %d closed; want 0, 1", ready, open, closed)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
}
