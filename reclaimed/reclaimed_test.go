package reclaimed

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/soak-dev/soak/record"
)

var t0 = time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)

func meta() record.Meta {
	return record.Meta{IntervalMs: 1000,
		Phases:   []record.PhaseMeta{{Name: "p", Start: t0, End: t0.Add(200 * time.Second)}},
		Backends: map[string]record.BackendMeta{"s3": {Kind: "s3"}},
		Layers: map[string]record.LayerMeta{
			"client":  {Node: "proxy", Listen: "proxy"},
			"intra":   {Node: "proxy", Peer: "target"},
			"backend": {Node: "target", Peer: "s3"},
		}}
}

func conn(witness, source, layer, side, by string, idleMs int64, closedAt time.Duration) record.Conn {
	c := record.Conn{Witness: witness, Source: source, Layer: layer, Side: side, ClosedBy: by,
		Opened: t0, MaxIdleMs: idleMs, IdleBeforeCloseMs: idleMs}
	if by != record.OpenAtEnd {
		c.Closed = t0.Add(closedAt)
	}
	return c
}

func TestFold(t *testing.T) {
	t.Parallel()
	cycle := func(tm time.Time) int { return 1 + int(tm.Sub(t0)/(100*time.Second)) }
	f := New(meta(), cycle)
	for _, c := range []record.Conn{
		// client layer: the SUT closed 3 idle ones after ~10 s; one closed after a response (not idle).
		conn(record.WitnessClient, "hold", "", "client", record.ClosedByServer, 10000, 20*time.Second),
		conn(record.WitnessClient, "hold", "", "client", record.ClosedByServer, 10200, 30*time.Second),
		conn(record.WitnessClient, "hold", "", "client", record.ClosedByServer, 9800, 120*time.Second),
		conn(record.WitnessClient, "load", "", "client", record.ClosedByServer, 20, 130*time.Second),
		// ... one closed while the SUT was being stopped, after the phases: not a timeout.
		conn(record.WitnessClient, "hold", "", "client", record.ClosedByServer, 3000, 201*time.Second),
		// ... and the hold ended first on one after 4 s: a lower bound, not a close.
		conn(record.WitnessClient, "hold", "", "client", record.ClosedByClient, 4000, 140*time.Second),
		// intra layer, kernel on the proxy (client side): the proxy closed two, the target one.
		conn(record.WitnessKernel, "proxy", "intra", "client", record.ClosedByClient, 2900, 10*time.Second),
		conn(record.WitnessKernel, "proxy", "intra", "client", record.ClosedByClient, 2700, 110*time.Second),
		conn(record.WitnessKernel, "proxy", "intra", "client", record.ClosedByServer, 1200, 150*time.Second),
		// the kernel's events: exact, and preferred to the dumps.
		conn(record.WitnessKernelEvents, "proxy", "intra", "client", record.ClosedByClient, 3010, 10*time.Second),
		// a kernel conn of the intra layer seen on another node is not the layer's.
		conn(record.WitnessKernel, "target", "intra", "server", record.ClosedByServer, 99000, 10*time.Second),
		// backend layer: only the backend closed (the SUT never did), and one stayed open.
		conn(record.WitnessBackend, "s3", "", "server", record.ClosedByTimeout, 5000, 50*time.Second),
		conn(record.WitnessBackend, "s3", "", "server", record.OpenAtEnd, 7000, 0),
	} {
		f.Add(c)
	}
	got := f.Result()

	cl, ok := Best(got["client"])
	if !ok || cl.Witness != record.WitnessClient || cl.Count != 3 || cl.MedianS != 10 || cl.MaxS != 10.2 ||
		cl.LowerBoundS != 4 || cl.LowerBoundWhy != "the hold ended first" {
		t.Errorf("client = %+v", cl)
	}
	if p90 := cl.P90S; math.Abs(p90-10.16) > 1e-9 {
		t.Errorf("client p90 = %v, want 10.16", p90)
	}
	if ev, _ := Best(got["intra"]); ev.Witness != record.WitnessKernelEvents || ev.MedianS != 3.01 {
		t.Errorf("intra, best = %+v; want the kernel's events", ev)
	}
	in := got["intra"][1]
	if in.Witness != record.WitnessKernel || in.Count != 2 || in.MedianS != 2.8 || in.MaxS != 2.9 || in.ResolutionS != 1 {
		t.Errorf("intra = %+v", in)
	}
	be, _ := Best(got["backend"])
	if be.Measured() || be.LowerBoundS != 7 || be.LowerBoundCount != 2 || be.LowerBoundWhy != "still open at the end" {
		t.Errorf("backend = %+v", be)
	}
	if s := Text(be); !strings.HasPrefix(s, ">= 7.0 s, still open at the end") {
		t.Errorf("backend text = %q", s)
	}
	if s := Text(cl); !strings.HasPrefix(s, "reclaimed after 10.0 s (median of 3") {
		t.Errorf("client text = %q", s)
	}
	if cm := f.CycleMedians("client", record.WitnessClient); len(cm) != 2 || cm[1] != 10.1 || cm[2] != 9.8 {
		t.Errorf("client per cycle = %v", cm)
	}
}

func TestBoundedMemory(t *testing.T) {
	t.Parallel()
	f := New(meta(), nil)
	for i := 0; i < 2*maxKept; i++ {
		f.Add(conn(record.WitnessClient, "hold", "", "client", record.ClosedByServer, int64(1000+i%1000), time.Second))
	}
	a := f.accs[key{"client", record.WitnessClient}]
	if len(a.closed.v) != maxKept || a.closed.seen != 2*maxKept {
		t.Errorf("kept %d of %d", len(a.closed.v), a.closed.seen)
	}
	r, _ := Best(f.Result()["client"])
	if r.Count != 2*maxKept || math.Abs(r.MedianS-1.5) > 0.02 || r.MaxS != 1.999 {
		t.Errorf("sampled result = %+v", r)
	}
}
