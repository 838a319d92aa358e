package reports

import (
	"image/color"
	"maps"
	"math"
	"slices"

	"github.com/soak-dev/soak/record"
)

// aligner maps times of run B onto run A's time axis phase by phase, so
// the same phase starts at the same x in both runs even when B's earlier
// phases ran longer (startup, a slow drain).
type aligner struct {
	a, b record.Meta
	// shift is used outside any shared phase: the difference of first phase starts.
	shift float64
}

func newAligner(a, b record.Meta) *aligner {
	al := &aligner{a: a, b: b}
	if len(a.Phases) > 0 && len(b.Phases) > 0 {
		al.shift = a.Phases[0].Start.Sub(a.Start).Seconds() - b.Phases[0].Start.Sub(b.Start).Seconds()
	}
	return al
}

// x maps seconds since B's start to seconds since A's start.
func (al *aligner) x(bx float64) float64 {
	for i := len(al.b.Phases) - 1; i >= 0; i-- {
		pb := al.b.Phases[i]
		off := pb.Start.Sub(al.b.Start).Seconds()
		if bx < off {
			continue
		}
		for _, pa := range al.a.Phases {
			if pa.Name == pb.Name {
				return pa.Start.Sub(al.a.Start).Seconds() + bx - off
			}
		}
		break
	}
	return bx + al.shift
}

func (al *aligner) points(pts []point) []point {
	out := make([]point, len(pts))
	for i, p := range pts {
		p.X = al.x(p.X)
		out[i] = p
	}
	return out
}

// overlayPlots draws A (solid) and B (dashed) on A's time axis and writes
// them under out/plots.
func overlayPlots(ba, bb *builder, out *record.Run) ([]plotFile, error) {
	al := newAligner(ba.run.Meta, bb.run.Meta)
	// The axis spans both runs once B is mapped onto A.
	span := ba.spanS
	if bb.spanS > 0 {
		span = math.Max(span, al.x(bb.spanS))
	}
	ob := &builder{run: out, tl: ba.tl, spanS: span}
	type side struct {
		tag string
		b   *builder
		pts func([]point) []point
	}
	sides := []side{{"A", ba, func(p []point) []point { return p }}, {"B", bb, al.points}}
	overlay := func(name, title, ylabel string, scale float64, each func(add func(label string, key string, ns func(*builder) *nodeSeries))) error {
		c := ob.newTimePlot(title, ylabel)
		colors := map[string]color.RGBA{}
		each(func(label, key string, nsOf func(*builder) *nodeSeries) {
			for i, sd := range sides {
				ns := nsOf(sd.b)
				if ns == nil {
					continue
				}
				col, ok := colors[label]
				if !ok {
					col = c.next()
					colors[label] = col
				}
				c.line(sd.tag+": "+label, sd.pts(sd.b.tl.points(ns.get(key))), scale, i == 1, col)
			}
		})
		if c.series == 0 {
			ob.skip(name, title, "no data in either run")
			return nil
		}
		return ob.saveCanvas(name, title, c)
	}
	nodeOf := func(node string) func(*builder) *nodeSeries {
		return func(b *builder) *nodeSeries { return b.tl.nodes[node] }
	}
	nodes := unionNodes(ba, bb)
	layers := map[string]string{} // layer -> node it is plotted from
	for _, bd := range []*builder{ba, bb} {
		for _, n := range bd.tl.nodeNames() {
			ns := bd.tl.nodes[n]
			for l := range ns.layers {
				if _, done := layers[l]; !done && bd.layerOnNode(l, ns) {
					layers[l] = n
				}
			}
		}
	}
	lbl := func(node, what string) string {
		if len(nodes) > 1 {
			return node + ": " + what
		}
		return what
	}
	if err := overlay("connections", "Established connections per layer (A solid, B dotted)", "sockets", 1,
		func(add func(string, string, func(*builder) *nodeSeries)) {
			for _, l := range slices.Sorted(maps.Keys(layers)) {
				add(lbl(layers[l], l), keyEst(l), nodeOf(layers[l]))
			}
		}); err != nil {
		return nil, err
	}
	if err := overlay("idle-age", "Max idle age per layer (A solid, B dotted)", "idle age (s)", 1,
		func(add func(string, string, func(*builder) *nodeSeries)) {
			for _, l := range slices.Sorted(maps.Keys(layers)) {
				add(lbl(layers[l], l), keyIdleMax(l), nodeOf(layers[l]))
			}
		}); err != nil {
		return nil, err
	}
	if err := overlay("goroutines", "Goroutines (A solid, B dotted)", "goroutines", 1,
		func(add func(string, string, func(*builder) *nodeSeries)) {
			for _, n := range nodes {
				add(n, keyGorTotal, nodeOf(n))
			}
		}); err != nil {
		return nil, err
	}
	if err := overlay("fds", "Open file descriptors (A solid, B dotted)", "FDs", 1,
		func(add func(string, string, func(*builder) *nodeSeries)) {
			for _, n := range nodes {
				add(n, keyFDTotal, nodeOf(n))
			}
		}); err != nil {
		return nil, err
	}
	if err := overlay("rss", "RSS (A solid, B dotted)", "RSS (MiB)", 1.0/(1<<20),
		func(add func(string, string, func(*builder) *nodeSeries)) {
			for _, n := range nodes {
				add(n, keyRSS, nodeOf(n))
			}
		}); err != nil {
		return nil, err
	}
	return ob.plots, nil
}

func unionNodes(a, b *builder) []string {
	set := map[string]bool{}
	for _, bd := range []*builder{a, b} {
		for n := range bd.tl.nodes {
			set[n] = true
		}
	}
	return slices.Sorted(maps.Keys(set))
}
