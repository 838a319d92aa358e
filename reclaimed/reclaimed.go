// Package reclaimed measures a layer's effective idle timeout: how long the
// SUT lets an idle connection live before it closes it, as each witness
// (kernel, client ledger, backend ledger) saw it in conns.jsonl. checks puts
// it in verdict.json, reports in summary.json and the comparison.
package reclaimed

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/soak-dev/soak/internal/stats"
	"github.com/soak-dev/soak/record"
)

// MinIdle is the shortest idle time before close that counts as an idle
// close: a SUT that closes right after a response (Connection: close, an
// error) is not timing anything out.
const MinIdle = 100 * time.Millisecond

// maxKept bounds the idle times kept per layer and witness (and per
// cycle): beyond it a uniform sample is kept, so a 24-hour run costs at most
// a few MB.
const maxKept = 50000

// key is one layer as seen by one witness.
type key struct{ layer, witness string }

// values is a bounded uniform sample of idle times (seconds).
type values struct {
	v    []float64
	seen int
	rng  *rand.Rand
}

func (s *values) add(x float64) {
	s.seen++
	if len(s.v) < maxKept {
		s.v = append(s.v, x)
		return
	}
	if s.rng == nil {
		s.rng = rand.New(rand.NewPCG(1, uint64(len(s.v))))
	}
	if j := s.rng.IntN(s.seen); j < maxKept {
		s.v[j] = x
	}
}

// acc folds one layer and witness.
type acc struct {
	closed   values         // idle closes by the SUT
	max      float64        // exact max, whatever was sampled
	byCycle  map[int]values // the same per cycle, for the noise model
	lower    float64
	lowerN   int
	lowerWhy string
}

// Fold accumulates the connections of one run.
type Fold struct {
	meta  record.Meta
	cycle func(time.Time) int
	accs  map[key]*acc
	// ledger names the layers of ledger connections.
	ledger LedgerLayers
	// phasesEnd is when the last phase ended (zero: unknown): closes after
	// it are the SUT being stopped, not an idle timeout.
	phasesEnd time.Time
}

// New returns a Fold for a run. cycle gives the scenario cycle a moment
// belongs to (0: none); nil counts no cycles.
func New(m record.Meta, cycle func(time.Time) int) *Fold {
	f := &Fold{meta: m, cycle: cycle, accs: map[key]*acc{}, ledger: NewLedgerLayers(m)}
	for _, p := range m.Phases {
		if p.End.IsZero() {
			f.phasesEnd = time.Time{}
			break
		}
		if p.End.After(f.phasesEnd) {
			f.phasesEnd = p.End
		}
	}
	return f
}

// Add folds one connection in.
func (f *Fold) Add(c record.Conn) {
	layer, sutClosed, peerClosed, why := f.classify(c)
	if layer == "" {
		return
	}
	k := key{layer, c.Witness}
	a := f.accs[k]
	if a == nil {
		a = &acc{byCycle: map[int]values{}}
		f.accs[k] = a
	}
	idle := float64(c.IdleBeforeCloseMs) / 1000
	teardown := !f.phasesEnd.IsZero() && c.Closed.After(f.phasesEnd)
	switch {
	case sutClosed && teardown:
		// Stopping the SUT closes its idle connections, whatever their age.
	case sutClosed && idle >= MinIdle.Seconds():
		a.closed.add(idle)
		a.max = math.Max(a.max, idle)
		if f.cycle != nil {
			if cy := f.cycle(c.Closed); cy > 0 {
				v := a.byCycle[cy]
				v.add(idle)
				a.byCycle[cy] = v
			}
		}
	case peerClosed:
		if c.ClosedBy == record.OpenAtEnd {
			idle = float64(c.MaxIdleMs) / 1000
		}
		a.lowerN++
		if idle >= a.lower {
			a.lower, a.lowerWhy = idle, why
		}
	}
}

// classify names the layer of c, and whether the SUT or the other side
// closed it first (an open-at-end connection counts as the other side's:
// it bounds the timeout from below).
func (f *Fold) classify(c record.Conn) (layer string, sutClosed, peerClosed bool, why string) {
	switch c.Witness {
	case record.WitnessKernel, record.WitnessKernelEvents:
		layer = c.Layer
		lm, ok := f.meta.Layers[layer]
		if !ok || (lm.Node != "" && c.Source != lm.Node) {
			return "", false, false, ""
		}
		// The kernel witness sees the SUT's own socket: its side closed it
		// when the closer is that side.
		other := record.ClosedByClient
		if c.Side == "client" {
			other = record.ClosedByServer
		}
		switch c.ClosedBy {
		case c.Side:
			return layer, true, false, ""
		case other:
			return layer, false, true, "the peer closed first"
		case record.OpenAtEnd:
			return layer, false, true, "still open at the end"
		}
	case record.WitnessClient:
		cl := f.ledger.client
		if cl == "" || (c.Layer != "" && c.Layer != cl) {
			return "", false, false, ""
		}
		switch c.ClosedBy {
		case record.ClosedByServer:
			return cl, true, false, ""
		case record.ClosedByClient:
			return cl, false, true, "the hold ended first"
		case record.OpenAtEnd:
			return cl, false, true, "still open at the end"
		}
	case record.WitnessBackend:
		layer = f.ledger.backend[c.Source]
		if layer == "" {
			return "", false, false, ""
		}
		// The backend ledger is the server side: the SUT is its client.
		switch c.ClosedBy {
		case record.ClosedByClient:
			return layer, true, false, ""
		case record.ClosedByServer, record.ClosedByTimeout:
			return layer, false, true, "the backend closed first"
		case record.OpenAtEnd:
			return layer, false, true, "still open at the end"
		}
	}
	return layer, false, false, ""
}

// Witnesses in the order a reader trusts them for a timeout: the ledgers
// and the kernel's events time a close to the millisecond, the kernel's
// socket dumps to a sample interval.
var witnessOrder = []string{record.WitnessBackend, record.WitnessClient, record.WitnessKernelEvents, record.WitnessKernel}

// Result returns every layer's figures, by layer then witness in
// witnessOrder.
func (f *Fold) Result() map[string][]record.Reclaimed {
	out := map[string][]record.Reclaimed{}
	iv := float64(f.meta.IntervalMs) / 1000
	for _, w := range witnessOrder {
		for k, a := range f.accs {
			if k.witness != w || (a.closed.seen == 0 && a.lowerN == 0) {
				continue
			}
			r := record.Reclaimed{Layer: k.layer, Witness: w, Count: a.closed.seen, MaxS: a.max}
			if len(a.closed.v) > 0 {
				r.MedianS, r.P90S = stats.Quantile(a.closed.v, 0.5), stats.Quantile(a.closed.v, 0.9)
			}
			if a.lowerN > 0 {
				r.LowerBoundS, r.LowerBoundCount, r.LowerBoundWhy = a.lower, a.lowerN, a.lowerWhy
			}
			switch w {
			case record.WitnessKernel:
				r.ResolutionS = iv
			case record.WitnessClient:
				r.ResolutionS = 0.25
			}
			out[k.layer] = append(out[k.layer], r)
		}
	}
	return out
}

// Best returns the witness to quote for a layer: the first in witnessOrder
// that measured a close, else the one with the largest lower bound.
func Best(rs []record.Reclaimed) (record.Reclaimed, bool) {
	for _, r := range rs {
		if r.Measured() {
			return r, true
		}
	}
	var best record.Reclaimed
	ok := false
	for _, r := range rs {
		if !ok || r.LowerBoundS > best.LowerBoundS {
			best, ok = r, true
		}
	}
	return best, ok
}

// CycleMedians returns, for a layer and witness, the median idle time
// before close within each cycle that has one.
func (f *Fold) CycleMedians(layer, witness string) map[int]float64 {
	a := f.accs[key{layer, witness}]
	if a == nil {
		return nil
	}
	out := map[int]float64{}
	for c, v := range a.byCycle {
		if len(v.v) > 0 {
			out[c] = stats.Median(v.v)
		}
	}
	return out
}

// Text says a figure in one line: "reclaimed after 10.0 s (median of 4;
// p90 10.1 s, max 10.2 s; client)", or ">= 9.9 s, the hold ended first".
func Text(r record.Reclaimed) string {
	if r.Measured() {
		return fmt.Sprintf("reclaimed after %s (median of %d; p90 %s, max %s; %s)", secs(r.MedianS), r.Count, secs(r.P90S), secs(r.MaxS), r.Witness)
	}
	if r.LowerBoundCount > 0 {
		return fmt.Sprintf(">= %s, %s (%s; no idle close by the SUT seen)", secs(r.LowerBoundS), r.LowerBoundWhy, r.Witness)
	}
	return "no idle connection seen (" + r.Witness + ")"
}

// Short is Text for a table cell: "10.0 s" or ">= 9.9 s".
func Short(r record.Reclaimed) string {
	if r.Measured() {
		return secs(r.MedianS)
	}
	if r.LowerBoundCount > 0 {
		return ">= " + secs(r.LowerBoundS)
	}
	return "-"
}

func secs(s float64) string { return strings.TrimSpace(fmt.Sprintf("%.1f s", s)) }
