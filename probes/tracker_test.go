package probes

import (
	"net/netip"
	"testing"
	"time"

	"github.com/soak-dev/soak/record"
)

func ap(s string) netip.AddrPort { return netip.MustParseAddrPort(s) }

// The states a connection passes through decide who closed it.
func TestTrackerClosedBy(t *testing.T) {
	t.Parallel()
	srv := connKey{ap("127.0.0.1:8080"), ap("127.0.0.1:40000")}
	cli := connKey{ap("127.0.0.1:40001"), ap("127.0.0.1:9000")}
	t0 := time.Unix(1000, 0)
	type obs struct {
		inode uint32
		state uint8
	}
	for _, tc := range []struct {
		name     string
		key      connKey
		side     string
		seen     []obs // one per tick; an empty tick means vanished
		closedBy string
		last     string
	}{
		{"server closes: FIN_WAIT2 orphan", srv, "server", []obs{{7, tcpEstablished}, {0, tcpFinWait2}}, record.ClosedByServer, "FIN_WAIT2"},
		{"server closes: TIME_WAIT", srv, "server", []obs{{7, tcpEstablished}, {0, tcpTimeWait}}, record.ClosedByServer, "TIME_WAIT"},
		{"client peer closes: CLOSE_WAIT", srv, "server", []obs{{7, tcpEstablished}, {7, tcpCloseWait}, {}}, record.ClosedByClient, "CLOSE_WAIT"},
		{"vanished from ESTABLISHED: peer", cli, "client", []obs{{7, tcpEstablished}, {}}, record.ClosedByServer, "ESTABLISHED"},
		{"client closes", cli, "client", []obs{{7, tcpEstablished}, {0, tcpTimeWait}}, record.ClosedByClient, "TIME_WAIT"},
		{"simultaneous", cli, "client", []obs{{7, tcpEstablished}, {7, tcpClosing}, {}}, record.ClosedByUnknown, "CLOSING"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tr := newTracker("n")
			var ended []record.Conn
			for i, o := range tc.seen {
				now := t0.Add(time.Duration(i) * time.Second)
				tr.begin()
				if o.state != 0 {
					tr.observe(now, tc.key, o.inode, o.state, int64(i)*1000, "l", tc.side)
				}
				ended = append(ended, tr.sweep(now, false)...)
			}
			// TIME_WAIT lingers and then vanishes: reported once.
			tr.begin()
			ended = append(ended, tr.sweep(t0.Add(time.Hour), false)...)
			if len(ended) != 1 {
				t.Fatalf("ended = %+v, want one", ended)
			}
			c := ended[0]
			if c.ClosedBy != tc.closedBy || c.LastState != tc.last || c.Side != tc.side || !c.Opened.Equal(t0) {
				t.Errorf("conn = %+v, want closed by %s in %s", c, tc.closedBy, tc.last)
			}
			if len(tr.conns) != 0 {
				t.Errorf("tracker keeps %d entries, want 0", len(tr.conns))
			}
		})
	}
}

// A reused tuple with a new inode is a new connection; a partial dump ends nothing.
func TestTrackerReuseAndPartial(t *testing.T) {
	t.Parallel()
	k := connKey{ap("[::1]:8080"), ap("[::1]:50000")}
	tr := newTracker("n")
	t0 := time.Unix(0, 0)
	tr.begin()
	tr.observe(t0, k, 1, tcpEstablished, 5000, "l", "server")
	if e := tr.sweep(t0, false); len(e) != 0 {
		t.Fatalf("ended early: %+v", e)
	}
	tr.begin()
	if e := tr.sweep(t0.Add(time.Second), true); len(e) != 0 {
		t.Fatalf("partial dump ended %+v", e)
	}
	tr.begin()
	tr.observe(t0.Add(2*time.Second), k, 2, tcpEstablished, 0, "l", "server")
	e := tr.sweep(t0.Add(2*time.Second), false)
	if len(e) != 1 || e[0].MaxIdleMs != 5000 || e[0].Local != "[::1]:8080" {
		t.Fatalf("ended = %+v, want the first connection with max idle 5000", e)
	}
	if open := tr.openAtEnd(); len(open) != 1 || open[0].ClosedBy != record.OpenAtEnd || !open[0].Closed.IsZero() {
		t.Fatalf("open = %+v", open)
	}
}

// 100k connections opening and closing leave nothing behind.
func TestTrackerBounded(t *testing.T) {
	t.Parallel()
	tr := newTracker("n")
	t0 := time.Unix(0, 0)
	ended := 0
	for tick := range 20 {
		now := t0.Add(time.Duration(tick) * time.Second)
		tr.begin()
		for i := range 5000 {
			k := connKey{ap("10.0.0.1:8080"), netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 1, byte(tick), byte(i >> 8)}), uint16(i))}
			tr.observe(now, k, uint32(tick*5000+i+1), tcpEstablished, 10, "l", "server")
		}
		ended += len(tr.sweep(now, false))
		if len(tr.conns) != 5000 {
			t.Fatalf("tick %d: %d live entries, want 5000", tick, len(tr.conns))
		}
	}
	if want := 19 * 5000; ended != want {
		t.Errorf("ended = %d, want %d", ended, want)
	}
}

func TestIdleStats(t *testing.T) {
	t.Parallel()
	ages := []int64{3000, 50, 100, 101, 700000}
	st := idleStats(ages, false)
	if st.Max != 700000 || st.P50 != 101 || st.P99 != 700000 {
		t.Errorf("stats = %+v", st)
	}
	want := make([]int, len(record.IdleBucketsMs)+1)
	want[0], want[1], want[5], want[len(want)-1] = 2, 1, 1, 1
	for i := range want {
		if st.Hist[i] != want[i] {
			t.Fatalf("hist = %v, want %v", st.Hist, want)
		}
	}
	if idleStats(nil, false) != nil {
		t.Error("stats of nothing must be nil")
	}
}

func TestParseLayerRule(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   string
		want LayerRule
		ok   bool
	}{
		{"client=local:8080", LayerRule{Name: "client", LocalPorts: []int{8080}}, true},
		{"backend=remote:9000,9001", LayerRule{Name: "backend", RemotePorts: []int{9000, 9001}}, true},
		{"intra=local:8081;remote:8081", LayerRule{Name: "intra", LocalPorts: []int{8081}, RemotePorts: []int{8081}}, true},
		{"x=local:0", LayerRule{}, false},
		{"x=local:70000", LayerRule{}, false},
		{"x=peer:1", LayerRule{}, false},
		{"=local:1", LayerRule{}, false},
		{"other=local:1", LayerRule{}, false},
		{"x", LayerRule{}, false},
		{"x=8080", LayerRule{}, false},
	} {
		got, err := ParseLayerRule(tc.in)
		if (err == nil) != tc.ok {
			t.Errorf("%q: err = %v, want ok=%v", tc.in, err, tc.ok)
			continue
		}
		if tc.ok && (got.Name != tc.want.Name || len(got.LocalPorts) != len(tc.want.LocalPorts) || len(got.RemotePorts) != len(tc.want.RemotePorts)) {
			t.Errorf("%q: got %+v, want %+v", tc.in, got, tc.want)
		}
	}
}
