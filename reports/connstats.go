package reports

import (
	"maps"
	"math"
	"slices"
	"sort"
	"time"

	"github.com/soak-dev/soak/reclaimed"
	"github.com/soak-dev/soak/record"
)

// histBoundsS are the upper bounds (seconds) of the lifetime and
// idle-before-close histograms: log-spaced so both a 50 ms churn
// connection and a 2-hour idle one land in a readable bin.
var histBoundsS = []float64{0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300, 600, 1800, 3600}

// layerConns folds the finished connections of one layer.
type layerConns struct {
	byWitness        map[string]int
	closedBy         map[string]int
	maxIdleByWitness map[string]float64
	// lifetime[witness][closer] and idle[witness][closer] are histograms
	// over histBoundsS (+1 overflow bin); kept per witness so a connection
	// seen by two witnesses is not counted twice in one plot.
	lifetime map[string]map[string][]int
	idle     map[string]map[string][]int
	// bounds are the histograms' bin bounds (see withBounds).
	bounds []float64
	// events folds the kernel event witness's connections: closers, and
	// how many lived less than one sample interval.
	events *EventsSummary
}

// connStats is the streaming fold of conns.jsonl.
type connStats struct {
	layers   map[string]*layerConns
	total    int
	interval time.Duration // the run's sample interval: shorter connections count as short
	// reclaim times the SUT's idle closes per layer and witness (nil: not kept).
	reclaim *reclaimed.Fold
	// bounds holds each layer's histogram bounds (withBounds); a layer
	// without gets histBoundsS.
	bounds map[string][]float64
	// ledger names the layer of a ledger connection that carries none, from
	// the run's layer rules (the same rule reclaim uses), so a backend's
	// ledger is counted in its layer instead of "other".
	ledger reclaimed.LedgerLayers
}

func newConnStats(interval time.Duration) *connStats {
	return &connStats{layers: map[string]*layerConns{}, interval: interval}
}

// histBin is the bin of v: the first whose upper bound is >= v, or the
// overflow bin.
func histBin(bounds []float64, v float64) int {
	return sort.SearchFloat64s(bounds, v)
}

// withBounds returns histBoundsS with a layer's idle timeout and pass limit
// added as bin bounds, so the bars split exactly there: "closed after 4.0
// s" and "after 4.9 s" no longer share a (2 s, 5 s] bar around a 4 s
// timeout. Values <= 0 or already bounds are left out.
func withBounds(extra ...float64) []float64 {
	out := slices.Clone(histBoundsS)
	for _, e := range extra {
		if e > 0 && !slices.Contains(out, e) {
			out = append(out, e)
		}
	}
	slices.Sort(out)
	return out
}

func (cs *connStats) add(c record.Conn) {
	cs.total++
	if cs.reclaim != nil {
		cs.reclaim.Add(c)
	}
	l := cs.ledger.Of(c)
	if l == "" {
		l = record.LayerOther
	}
	lc := cs.layers[l]
	if lc == nil {
		lc = &layerConns{byWitness: map[string]int{}, closedBy: map[string]int{}, maxIdleByWitness: map[string]float64{},
			lifetime: map[string]map[string][]int{}, idle: map[string]map[string][]int{}, bounds: cs.bounds[l]}
		if lc.bounds == nil {
			lc.bounds = histBoundsS
		}
		cs.layers[l] = lc
	}
	by := c.ClosedBy
	if by == "" {
		by = record.ClosedByUnknown
	}
	lc.byWitness[c.Witness]++
	lc.closedBy[by]++
	lc.maxIdleByWitness[c.Witness] = math.Max(lc.maxIdleByWitness[c.Witness], float64(c.MaxIdleMs)/1000)
	if c.Witness == record.WitnessKernelEvents {
		if lc.events == nil {
			lc.events = &EventsSummary{ClosedBy: map[string]int{}}
		}
		lc.events.Conns++
		lc.events.ClosedBy[by]++
		if by != record.OpenAtEnd && !c.Closed.IsZero() && c.Closed.Sub(c.Opened) < cs.interval {
			lc.events.Short++
		}
	}
	if by == record.OpenAtEnd || c.Closed.IsZero() || c.Opened.IsZero() {
		return
	}
	histAdd(lc.lifetime, lc.bounds, c.Witness, by, c.Closed.Sub(c.Opened).Seconds())
	histAdd(lc.idle, lc.bounds, c.Witness, by, float64(c.IdleBeforeCloseMs)/1000)
}

func histAdd(m map[string]map[string][]int, bounds []float64, witness, by string, v float64) {
	w := m[witness]
	if w == nil {
		w = map[string][]int{}
		m[witness] = w
	}
	h := w[by]
	if h == nil {
		h = make([]int, len(bounds)+1)
		w[by] = h
	}
	h[histBin(bounds, v)]++
}

// witness returns the strongest witness of the layer's connections: the
// kernel's events are exact for every connection, the backend's ledger
// knows who closed, the client's knows its own side, the kernel's samples
// only infer.
func (lc *layerConns) witness() string {
	for _, w := range []string{record.WitnessKernelEvents, record.WitnessBackend, record.WitnessClient, record.WitnessKernel} {
		if lc.byWitness[w] > 0 {
			return w
		}
	}
	if ws := slices.Sorted(maps.Keys(lc.byWitness)); len(ws) > 0 {
		return ws[0]
	}
	return ""
}
