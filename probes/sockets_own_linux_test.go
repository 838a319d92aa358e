package probes

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"
	"time"

	"github.com/soak-dev/soak/internal/ownconns"
	"github.com/soak-dev/soak/record"
)

// TestSocketViewSoaksClosedEnds classifies a crafted dump for node proxy
// (listening on 8080; layers client local:8080, intra remote:8081 to its
// target, backend remote:9000) without the kernel event witness. soak's
// load client also dials the target directly: its closed end (TIME_WAIT,
// local its ephemeral port, remote 8081) matches intra's rule, but it is
// soak's, not the proxy's. The proxy's own ends must still count, the
// accepted end of soak's connection (remote soak's address) among them,
// and so must the proxy's dial from a local port soak also used, to
// another peer.
func TestSocketViewSoaksClosedEnds(t *testing.T) {
	ap := netip.MustParseAddrPort
	var (
		listener = ap("127.0.0.1:8080")
		target   = ap("127.0.0.1:8081")
		backend  = ap("127.0.0.1:9000")
		loadTW   = ap("127.0.0.1:40001") // soak -> target, closed: TIME_WAIT at soak
		proxyTW  = ap("127.0.0.1:40002") // proxy -> target, closed: TIME_WAIT at the proxy
		acceptTW = ap("127.0.0.1:40003") // soak -> proxy, the proxy closed first
		loadOpen = ap("127.0.0.1:40004") // soak -> proxy, open
	)
	dump := []sock{
		{local: listener, state: tcpListen, inode: 100},
		{local: loadTW, remote: target, state: tcpTimeWait},
		{local: proxyTW, remote: target, state: tcpTimeWait},
		{local: listener, remote: acceptTW, state: tcpTimeWait},
		{local: listener, remote: loadOpen, state: tcpEstablished, inode: 101, idleMs: 5},
		{local: loadOpen, remote: listener, state: tcpEstablished, inode: 500, idleMs: 5}, // soak's fd
		// The proxy's dial to the backend from the local port soak's
		// closed connection to the target used (another 4-tuple).
		{local: loadTW, remote: backend, state: tcpTimeWait},
	}
	fds := map[uint32]int32{100: 3, 101: 4}
	rules := []LayerRule{{Name: "client", LocalPorts: []int{8080}},
		{Name: "intra", RemotePorts: []int{8081}}, {Name: "backend", RemotePorts: []int{9000}}}
	soaks := ownconns.New(0)
	for _, l := range []netip.AddrPort{loadTW, acceptTW, loadOpen} {
		r := target
		if l != loadTW {
			r = listener
		}
		soaks.Dialled(l, r)
		if l != loadOpen {
			soaks.Closed(l, r)
		}
	}
	type counts struct{ intraTW, clientTW, clientEst, backendTW int }
	for _, tc := range []struct {
		name string
		own  *ownEnds
		want counts
	}{
		{name: "soak's dials known", own: &ownEnds{soaks: soaks}, want: counts{intraTW: 1, clientTW: 1, clientEst: 1, backendTW: 1}},
		// Without them (exporter, soak probe) the rule decides alone.
		{name: "soak's dials unknown", want: counts{intraTW: 2, clientTW: 1, clientEst: 1, backendTW: 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			view, _ := socketView(time.Now(), dump, fds, tc.own, nil, newLayerSet(rules), newTracker("proxy"), record.MethodNetlink, false)
			n := func(layer, state string) int {
				if l := view.Layers[layer]; l != nil {
					return l.ByState[state]
				}
				return 0
			}
			got := counts{n("intra", "TIME_WAIT"), n("client", "TIME_WAIT"), n("client", "ESTABLISHED"), n("backend", "TIME_WAIT")}
			if got != tc.want {
				t.Errorf("intra/client/backend counts = %+v, want %+v (layers %+v)", got, tc.want, view.Layers)
			}
			if view.Layers[record.LayerOther] != nil {
				t.Errorf("layer other = %+v, want none (soak's open client end is not the proxy's)", view.Layers[record.LayerOther])
			}
		})
	}
}

// TestFetcherJoinsOwnConns: the prober's connection to the node is in the
// shared set (so other nodes' samplers know its closed end) and, both of
// its ends, in the prober's own, open and after it is closed.
func TestFetcherJoinsOwnConns(t *testing.T) {
	local := make(chan netip.AddrPort, 1)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "ok")
	}))
	srv.Config.ConnState = func(c net.Conn, s http.ConnState) {
		if s == http.StateNew {
			local <- ownconns.AddrPort(c.RemoteAddr())
		}
	}
	srv.Start()
	defer srv.Close()
	soaks := ownconns.New(0)
	f := newFetcher(time.Second, soaks)
	if err := f.get(context.Background(), srv.URL, func(r io.Reader) error { _, err := io.Copy(io.Discard, r); return err }); err != nil {
		t.Fatal(err)
	}
	l, r := <-local, netip.MustParseAddrPort(srv.Listener.Addr().String())
	check := func(when string) {
		t.Helper()
		if !soaks.Has(l, r) || soaks.Has(r, l) {
			t.Errorf("%s: shared set has %v->%v %v, the reverse %v; want true, false", when, l, r, soaks.Has(l, r), soaks.Has(r, l))
		}
		if !f.owns(l, r) || !f.owns(r, l) {
			t.Errorf("%s: prober owns %v->%v %v, the reverse %v; want both", when, l, r, f.owns(l, r), f.owns(r, l))
		}
	}
	check("open")
	f.close()
	check("closed")
	if f.owns(l, netip.MustParseAddrPort("127.0.0.1:1")) {
		t.Error("the prober owns its local port to another peer")
	}
}

// BenchmarkSocketViewOwn classifies a dump of 10,000 connections to the
// node (both ends: the node's with fds, the load's) and 5,000 ownerless
// TIME_WAIT of the load's to a port a rule names: without soak's ends
// known, with them, and with the prober's connection known as well.
func BenchmarkSocketViewOwn(b *testing.B) {
	node := netip.MustParseAddrPort("127.0.0.1:8080")
	peer := netip.MustParseAddrPort("127.0.0.1:8081")
	var dump []sock
	fds := map[uint32]int32{1: 3}
	dump = append(dump, sock{local: node, state: tcpListen, inode: 1})
	soaks := ownconns.New(0)
	for i := range 10000 {
		l := netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 0, 0, 2}), uint16(20000+i))
		dump = append(dump, sock{local: node, remote: l, state: tcpEstablished, inode: uint32(100 + i), idleMs: 10},
			sock{local: l, remote: node, state: tcpEstablished, inode: uint32(100000 + i), idleMs: 10})
		fds[uint32(100+i)] = int32(10 + i)
		soaks.Dialled(l, node)
	}
	for i := range 5000 {
		l := netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 0, 0, 3}), uint16(20000+i))
		dump = append(dump, sock{local: l, remote: peer, state: tcpTimeWait})
		soaks.Dialled(l, peer)
		soaks.Closed(l, peer)
	}
	rules := newLayerSet([]LayerRule{{Name: "client", LocalPorts: []int{8080}}, {Name: "intra", RemotePorts: []int{8081}}})
	prober := ownconns.New(0)
	prober.Dialled(netip.MustParseAddrPort("127.0.0.1:1234"), node)
	proberOwns := func(l, r netip.AddrPort) bool { return prober.Has(l, r) || prober.Has(r, l) }
	for _, bc := range []struct {
		name string
		own  *ownEnds
	}{
		{"none", nil},
		{"soaks", &ownEnds{soaks: soaks}},
		{"soaks+prober", &ownEnds{soaks: soaks, prober: proberOwns}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			tr := newTracker("n")
			now := time.Now()
			for b.Loop() {
				now = now.Add(time.Second)
				socketView(now, dump, fds, bc.own, nil, rules, tr, record.MethodNetlink, false)
			}
		})
	}
}
