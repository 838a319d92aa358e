package probes

import (
	"testing"
	"time"

	"github.com/soak-dev/soak/record"
	"github.com/soak-dev/soak/series"
)

// TestSocketViewListedTwice: a dump read in parts (/proc/PID/net/tcp a page
// per read, sock_diag a message per batch) lists a socket twice when other
// sockets join its hash bucket between two parts; measured with 5 held
// connections and 6 dialers churning beside them: a duplicate in 30% of
// reads. Each socket counts once, in the state its first listing says.
func TestSocketViewListedTwice(t *testing.T) {
	t.Parallel()
	now := time.Unix(1000, 0)
	a := sock{local: ap("127.0.0.1:8080"), remote: ap("127.0.0.1:40000"), state: tcpEstablished, inode: 7, idleMs: 3000}
	b := sock{local: ap("127.0.0.1:8080"), remote: ap("127.0.0.1:40001"), state: tcpEstablished, inode: 8, idleMs: 10}
	later := a
	later.state, later.idleMs = tcpCloseWait, 3100 // the peer closed between the two parts
	for _, tc := range []struct {
		name string
		dump []sock
	}{
		{"same line twice", []sock{a, b, a}},
		{"state changed between parts", []sock{a, b, later}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rules := newLayerSet([]LayerRule{{Name: "client", LocalPorts: []int{8080}}})
			tr := newTracker("n")
			view, _ := socketView(now, tc.dump, map[uint32]int32{7: 5, 8: 6}, nil, nil, rules, tr, record.MethodNetlink, false)
			l := view.Layers["client"]
			if l == nil {
				t.Fatalf("no layer client: %+v", view.Layers)
			}
			if got, want := l.ByState[series.Established], 2; got != want || len(l.ByState) != 1 {
				t.Errorf("by state %v, want %d established only", l.ByState, want)
			}
			if got, want := l.Sides["server"], 2; got != want {
				t.Errorf("server side %d, want %d", got, want)
			}
			if got, want := l.IdleConns, 1; got != want {
				t.Errorf("idle conns %d, want %d", got, want)
			}
			ages := 0
			if l.Idle != nil {
				for _, n := range l.Idle.Hist {
					ages += n
				}
			}
			if l.Idle == nil || ages != 2 || l.Idle.Max != 3000 {
				t.Errorf("idle %+v, want 2 ages, max 3000", l.Idle)
			}
			if len(tr.conns) != 2 {
				t.Errorf("tracker follows %d, want 2", len(tr.conns))
			}
		})
	}
}
