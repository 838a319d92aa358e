package load

import (
	"context"
	"net"
	"strings"
	"testing"
)

func TestSourcesFor(t *testing.T) {
	t.Parallel()
	ports := ephemeralPorts()
	tests := []struct {
		target string
		need   int
		want   int
	}{
		{"http://127.0.0.1:8080", 10, 0},
		{"http://127.0.0.1:8080", ports/2 + 1, 2},
		{"http://localhost:8080/x", ports * 2, 4},
		{"http://127.0.0.1:1", ports * 100, maxSources},
		{"http://10.0.0.1:8080", ports * 2, 0},
		{"not a url", ports * 2, 0},
	}
	for _, tt := range tests {
		if got := sourcesFor(tt.target, tt.need).count(); got != tt.want {
			t.Errorf("sourcesFor(%q, %d) uses %d addresses, want %d", tt.target, tt.need, got, tt.want)
		}
	}
}

func TestLedgerSpreadsSourceAddresses(t *testing.T) {
	t.Parallel()
	srv := newServer(t, 0)
	src := &sources{ips: []net.IP{net.IPv4(127, 0, 0, 1), net.IPv4(127, 0, 0, 2)}}
	sink := &memSink{}
	led := newLedger(Env{Phase: "p", Sink: sink}, DefaultTimeout, src)
	addr := strings.TrimPrefix(srv.URL, "http://")
	for i := 0; i < 4; i++ {
		c, err := led.DialContext(context.Background(), "tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
	}
	led.closeAll()
	seen := map[string]bool{}
	for _, c := range sink.all() {
		host, _, _ := net.SplitHostPort(c.Local)
		seen[host] = true
	}
	if !seen["127.0.0.1"] || !seen["127.0.0.2"] {
		t.Errorf("local addresses %v, want 127.0.0.1 and 127.0.0.2", seen)
	}
}
