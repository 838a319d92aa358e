package reports

import (
	"math"
	"sort"
	"strings"
	"time"

	"github.com/soak-dev/soak/record"
	"github.com/soak-dev/soak/series"
)

// MaxPlotPoints is the number of time buckets a run is folded into for
// plotting: each bucket keeps min, max and mean, so a one-sample spike in a
// 24-hour run still shows as a band.
const MaxPlotPoints = 1200

// Track keys: the name of the series (package series) where the track is
// one a scenario can write, so plots, summary and checks say the same
// names; the reports' own figures (idle ages) have keys of their own.
const (
	keyGorClass = string(series.Goroutines) + "." // goroutines of a class: goroutines.CLASS
	keyFDType   = string(series.FDs) + "."        // FDs of a type: fds.TYPE
	keyGorTotal = string(series.Goroutines)
	keyFDTotal  = string(series.FDs)
	keyRSS      = string(series.RSS) // bytes
)

// Track keys of sockets over all layers.
var (
	keyEstAll  = series.Socket(series.AllLayers, "")          // ESTABLISHED sockets
	keyIdleAll = series.Socket(series.AllLayers, series.Idle) // idle ESTABLISHED sockets
)

// keyEst is the key of a layer's ESTABLISHED sockets.
func keyEst(layer string) string { return series.Socket(layer, "") }

// keyTimeWait is the key of a layer's TIME_WAIT sockets.
func keyTimeWait(layer string) string { return series.Socket(layer, series.TimeWait) }

// keyCloseWait is the key of a layer's CLOSE_WAIT sockets.
func keyCloseWait(layer string) string { return series.Socket(layer, series.CloseWait) }

// keyIdleConns is the key of a layer's ESTABLISHED sockets idle >= record.IdleThresholdMs.
func keyIdleConns(layer string) string { return series.Socket(layer, series.Idle) }

// keyIdleMax is the key of a layer's largest idle age (s); not a series.
func keyIdleMax(layer string) string { return "idlemax/" + layer }

// keyIdleP99 is the key of a layer's p99 idle age (s); not a series.
func keyIdleP99(layer string) string { return "idlep99/" + layer }

// bucket folds the values of one series that fall into one time slot.
type bucket struct {
	min, max, sum, last float64
	n                   int32
}

func (b *bucket) add(v float64) {
	if b.n == 0 || v < b.min {
		b.min = v
	}
	if b.n == 0 || v > b.max {
		b.max = v
	}
	b.sum += v
	b.last = v
	b.n++
}

func (b bucket) mean() float64 { return b.sum / float64(b.n) }

// track is one series of one node over the run, in fixed buckets.
type track struct {
	b    []bucket
	last float64 // value in the node's last sample that had this series
	peak float64
	seen bool
	// cycles holds the peak within each cycle of the scenario (see noise.go).
	cycles map[int]float64
}

// point is one bucket of a series, ready to plot: X in seconds since start.
type point struct{ X, Min, Max, Mean float64 }

// points returns the non-empty buckets of s.
func (tl *timeline) points(s *track) []point {
	if s == nil {
		return nil
	}
	var out []point
	for i, b := range s.b {
		if b.n == 0 {
			continue
		}
		x := (time.Duration(i)*tl.width + tl.width/2).Seconds()
		out = append(out, point{X: x, Min: b.min, Max: b.max, Mean: b.mean()})
	}
	return out
}

// nodeSeries holds every series of one node.
type nodeSeries struct {
	name       string
	s          map[string]*track
	samples    int
	first      time.Time
	last       time.Time
	gone       bool
	errors     map[string]int // probe error prefixes and how often
	gorSource  string
	sockMethod string
	layers     map[string]bool
	classes    map[string]bool
	fdTypes    map[string]bool
	// win is the last four samples and steps the per-layer connection
	// steps found in them (see perconn.go).
	win   []stepPoint
	steps map[string][]stepEvent
}

func (ns *nodeSeries) get(key string) *track { return ns.s[key] }

// timeline is the streaming fold of samples.jsonl.
type timeline struct {
	start time.Time
	width time.Duration
	nb    int
	nodes map[string]*nodeSeries
	// phases sorted by start; cycle per phase index (0 when the run has
	// fewer than 2 cycles, see noise.go); cycles is the number of cycles.
	phases     []record.PhaseMeta
	cycle      []int
	cycles     int
	metaLayers []string
	compact    *series.Compactor
	names      map[string]series.Name // parsed once per run
	registered []series.Def           // series probe sources registered: tracks by their names
}

// newTimeline sizes the buckets from the run's span so samples can be
// folded in one pass.
func newTimeline(m record.Meta) *timeline {
	span := m.End.Sub(m.Start)
	if span <= 0 {
		span = time.Second
	}
	iv := time.Duration(m.IntervalMs) * time.Millisecond
	if iv <= 0 {
		iv = time.Second
	}
	width := iv
	if n := span / width; n > MaxPlotPoints {
		// Not (span+MaxPlotPoints-1)/MaxPlotPoints: a span of centuries
		// (a meta.json without a start) overflowed to a negative width.
		width = span/MaxPlotPoints + 1
	}
	tl := &timeline{start: m.Start, width: width, nb: int(span/width) + 2, nodes: map[string]*nodeSeries{},
		compact: series.NewCompactor(), names: map[string]series.Name{}, registered: series.Registered()}
	tl.phases = append(tl.phases, m.Phases...)
	sort.SliceStable(tl.phases, func(i, j int) bool { return tl.phases[i].Start.Before(tl.phases[j].Start) })
	tl.cycle, tl.cycles = phaseCycles(tl.phases)
	if tl.cycles < 2 {
		// One cycle: no per-cycle values to keep.
		clear(tl.cycle)
	}
	for l := range m.Layers {
		tl.metaLayers = append(tl.metaLayers, l)
	}
	sort.Strings(tl.metaLayers)
	return tl
}

// phaseAt returns the index of the phase running at t, or -1.
func (tl *timeline) phaseAt(t time.Time) int {
	i := sort.Search(len(tl.phases), func(i int) bool { return tl.phases[i].Start.After(t) }) - 1
	if i < 0 {
		return -1
	}
	if e := tl.phases[i].End; !e.IsZero() && t.After(e) {
		return -1
	}
	return i
}

func (tl *timeline) node(name string) *nodeSeries {
	ns := tl.nodes[name]
	if ns == nil {
		ns = &nodeSeries{name: name, s: map[string]*track{}, errors: map[string]int{},
			layers: map[string]bool{}, classes: map[string]bool{}, fdTypes: map[string]bool{}}
		for _, l := range tl.metaLayers {
			ns.layers[l] = true
		}
		tl.nodes[name] = ns
	}
	return ns
}

// add folds one sample in.
func (tl *timeline) add(smp record.Sample) {
	ns := tl.node(smp.Node)
	ns.samples++
	if ns.first.IsZero() || smp.Time.Before(ns.first) {
		ns.first = smp.Time
	}
	if smp.Time.After(ns.last) {
		ns.last = smp.Time
	}
	ns.gone = ns.gone || smp.Gone
	tl.addStep(ns, smp)
	for _, e := range smp.Errors {
		k, _, _ := strings.Cut(e, ":")
		ns.errors[k]++
	}
	i := int(smp.Time.Sub(tl.start) / tl.width)
	if i < 0 {
		i = 0
	}
	if i >= tl.nb {
		i = tl.nb - 1
	}
	cycle := 0
	if p := tl.phaseAt(smp.Time); p >= 0 {
		cycle = tl.cycle[p]
	}
	put := func(key string, v float64) {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return
		}
		s := ns.s[key]
		if s == nil {
			s = &track{b: make([]bucket, tl.nb)}
			ns.s[key] = s
		}
		s.b[i].add(v)
		s.last = v
		if !s.seen || v > s.peak {
			s.peak = v
		}
		s.seen = true
		if cycle > 0 {
			if s.cycles == nil {
				s.cycles = map[int]float64{}
			}
			if old, ok := s.cycles[cycle]; !ok || v > old {
				s.cycles[cycle] = v
			}
		}
	}
	// Every series a scenario can name is read through package series, the
	// one owner of names and values, so a track has the value a check of
	// the same name reads; what is left here is which names a node has.
	c := tl.compact.Compact(smp)
	putSeries := func(name string) {
		n, ok := tl.names[name]
		if !ok {
			var err error
			if n, err = series.Parse(name); err != nil {
				return // a class or layer no scenario can name (a damaged run)
			}
			tl.names[name] = n
		}
		if v, ok := n.Value(&c); ok {
			put(name, v)
		}
	}
	if g := smp.Goroutines; g != nil {
		ns.gorSource = g.Source
		putSeries(keyGorTotal)
		for cl := range g.ByClass {
			ns.classes[cl] = true
		}
		for cl := range ns.classes {
			putSeries(keyGorClass + cl)
		}
	}
	if f := smp.FDs; f != nil {
		putSeries(keyFDTotal)
		for t := range f.ByType {
			ns.fdTypes[t] = true
		}
		for t := range ns.fdTypes {
			putSeries(keyFDType + t)
		}
	}
	if p := smp.Process; p != nil && p.RSS > 0 {
		// An RSS of 0 is no reading (a process being torn down), not a level.
		putSeries(keyRSS)
	}
	if sk := smp.Sockets; sk != nil {
		ns.sockMethod = sk.Method
		for l := range sk.Layers {
			ns.layers[l] = true
		}
		for l := range ns.layers {
			for _, key := range []string{keyEst(l), keyTimeWait(l), keyCloseWait(l), keyIdleConns(l)} {
				putSeries(key)
			}
			// Idle ages are the report's own figures, not series.
			var imax, ip99 int64
			if ls := sk.Layers[l]; ls != nil && ls.Idle != nil {
				imax, ip99 = ls.Idle.Max, ls.Idle.P99
			}
			put(keyIdleMax(l), float64(imax)/1000)
			put(keyIdleP99(l), float64(ip99)/1000)
		}
		putSeries(keyEstAll)
		putSeries(keyIdleAll)
	}
	for _, d := range tl.registered {
		putSeries(d.Name)
	}
}

// nodeNames returns the nodes seen in samples or meta, sorted.
func (tl *timeline) nodeNames() []string {
	var out []string
	for n := range tl.nodes {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}
