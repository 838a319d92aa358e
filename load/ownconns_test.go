package load

import (
	"net/netip"
	"testing"
	"time"

	"github.com/soak-dev/soak/internal/ownconns"
	"github.com/soak-dev/soak/scenarios"
)

// TestLedgerFillsOwnConns: every connection a phase dials (here a churn,
// a connection per request, through vegeta) is in Env.OwnConns once the
// phase ended, closed: the nodes' samplers then know soak's closed ends.
// The reverse tuple (the server's end) is not.
func TestLedgerFillsOwnConns(t *testing.T) {
	t.Parallel()
	srv := newServer(t, 0)
	sink := &memSink{}
	own := ownconns.New(0)
	p := &scenarios.Phase{Name: "churn", Churn: &scenarios.Churn{Rate: rate(50), Duration: scenarios.Duration(300 * time.Millisecond)}}
	res := runPhase(t, p, Env{Phase: "churn", BaseURL: srv.URL, Sink: sink, RunDir: t.TempDir(), OwnConns: own})
	conns := sink.all()
	if res.ConnsOpened == 0 || len(conns) != res.ConnsOpened {
		t.Fatalf("%d connections opened, %d in the ledger", res.ConnsOpened, len(conns))
	}
	for _, c := range conns {
		l, err := netip.ParseAddrPort(c.Local)
		if err != nil {
			t.Fatal(err)
		}
		r, err := netip.ParseAddrPort(c.Remote)
		if err != nil {
			t.Fatal(err)
		}
		if !own.Has(l, r) || own.Has(r, l) {
			t.Errorf("%s -> %s: in the set %v, its reverse %v; want true, false", l, r, own.Has(l, r), own.Has(r, l))
		}
	}
	if open, closed := own.Len(); open != 0 || closed != len(conns) {
		t.Errorf("set holds %d open, %d closed; want 0, %d", open, closed, len(conns))
	}
}
