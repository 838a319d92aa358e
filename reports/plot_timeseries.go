package reports

import (
	"context"
	"fmt"
	"image/color"
	"maps"
	"slices"

	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"

	"github.com/soak-dev/soak/record"
)

// renderPlots draws every plot of the report, skipping with a note those
// that have no data.
func (b *builder) renderPlots(ctx context.Context) error {
	for _, f := range []func() error{
		b.plotConnections, b.plotIdleAges, b.plotGoroutines, b.plotFDs, b.plotRSS,
		b.plotLifetimes, b.plotScatter, b.plotLoad,
	} {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("build report: %w", err)
		}
		if err := f(); err != nil {
			return err
		}
	}
	return nil
}

// label names a series after its node only when the run has several.
func (b *builder) label(node, what string) string {
	if len(b.tl.nodes) > 1 {
		return node + ": " + what
	}
	return what
}

// layerOnNode says whether layer belongs on node's plots: its own node, or
// any node that saw it when the scenario did not say.
func (b *builder) layerOnNode(layer string, ns *nodeSeries) bool {
	if lm, ok := b.run.Meta.Layers[layer]; ok && lm.Node != "" && len(b.tl.nodes) > 1 {
		if lm.Node == ns.name {
			return true
		}
	}
	s := ns.get(keyEst(layer))
	return s != nil && s.peak > 0 || len(b.tl.nodes) == 1 && s != nil
}

// nodeLayers calls fn for each node and each layer that belongs on its
// plots, in a stable order.
func (b *builder) nodeLayers(fn func(node, layer string, ns *nodeSeries)) {
	for _, node := range b.tl.nodeNames() {
		ns := b.tl.nodes[node]
		for _, l := range slices.Sorted(maps.Keys(ns.layers)) {
			if b.layerOnNode(l, ns) {
				fn(node, l, ns)
			}
		}
	}
}

// plotConnections is plot 1: ESTABLISHED sockets per layer, plus TIME_WAIT
// and CLOSE_WAIT where there were any.
func (b *builder) plotConnections() error {
	const name, title = "connections", "Established connections per layer"
	c := b.newTimePlot(title, "sockets")
	b.nodeLayers(func(node, l string, ns *nodeSeries) {
		col := c.next()
		c.line(b.label(node, l+" established"), b.tl.points(ns.get(keyEst(l))), 1, false, col)
		if s := ns.get(keyTimeWait(l)); s != nil && s.peak > 0 {
			c.line(b.label(node, l+" TIME_WAIT"), b.tl.points(s), 1, true, fade(col, 160))
		}
		if s := ns.get(keyCloseWait(l)); s != nil && s.peak > 0 {
			c.line(b.label(node, l+" CLOSE_WAIT"), b.tl.points(s), 1, true, color.RGBA{200, 0, 0, 255})
		}
	})
	if c.series == 0 {
		b.skip(name, title, "no data: no sample has socket counts")
		return nil
	}
	return b.saveCanvas(name, title, c)
}

// plotIdleAges is plot 2: the max and p99 idle age per layer against the
// layer's idle timeout — "reclaimed within the timeout" is every solid line
// staying under its dashed one.
func (b *builder) plotIdleAges() error {
	const name, title = "idle-age", "Idle age per layer: max (solid), p99 (dotted), idle timeout (dashed)"
	c := b.newTimePlot(title, "idle age (s)")
	b.nodeLayers(func(node, l string, ns *nodeSeries) {
		col := c.next()
		c.line(b.label(node, l+" max"), b.tl.points(ns.get(keyIdleMax(l))), 1, false, col)
		if p := ns.get(keyIdleP99(l)); p != nil && p.peak > 0 {
			c.line(b.label(node, l+" p99"), b.tl.points(p), 1, true, fade(col, 170))
		}
		if lm, ok := b.run.Meta.Layers[l]; ok && lm.IdleTimeoutMs > 0 {
			c.hline(fmt.Sprintf("%s timeout %gs", l, float64(lm.IdleTimeoutMs)/1000), float64(lm.IdleTimeoutMs)/1000, col)
		}
	})
	if c.series == 0 {
		b.skip(name, title, "no data: no sample has idle ages")
		return nil
	}
	return b.saveCanvas(name, title, c)
}

// stacked draws series on top of each other as filled bands (bucket means)
// and returns how many it drew.
func (c *canvas) stacked(labels []string, series [][]point) int {
	if len(series) == 0 {
		return 0
	}
	base := map[float64]float64{}
	drawn := 0
	type layer struct {
		label string
		poly  plotter.XYs
	}
	var layers []layer
	for i, pts := range series {
		if len(pts) == 0 {
			continue
		}
		poly := make(plotter.XYs, 0, 2*len(pts))
		lower := make([]float64, len(pts))
		for j, p := range pts {
			lower[j] = base[p.X]
			top := lower[j] + p.Mean
			poly = append(poly, plotter.XY{X: p.X / c.unit.div, Y: top})
			base[p.X] = top
			if top > c.p.Y.Max {
				c.p.Y.Max = top
			}
		}
		for j := len(pts) - 1; j >= 0; j-- {
			poly = append(poly, plotter.XY{X: pts[j].X / c.unit.div, Y: lower[j]})
		}
		layers = append(layers, layer{labels[i], poly})
	}
	for _, l := range layers {
		pg, err := plotter.NewPolygon(l.poly)
		if err != nil {
			continue
		}
		col := c.next()
		pg.Color = fade(col, 200)
		pg.LineStyle.Color = col
		pg.LineStyle.Width = vg.Points(0.5)
		c.p.Add(pg)
		c.p.Legend.Add(l.label, pg)
		c.legend++
		drawn++
		c.series++
	}
	return drawn
}

// plotGoroutines is plot 3: goroutines stacked by class, one plot per node,
// with the total as a line and its min/max band.
func (b *builder) plotGoroutines() error {
	return b.plotStackedPerNode(stackedPlot{name: "goroutines", title: "Goroutines by class", ylabel: "goroutines",
		partKey: keyGorClass, totalKey: keyGorTotal, what: "goroutines",
		parts: func(ns *nodeSeries) map[string]bool { return ns.classes },
		note: func(ns *nodeSeries) string {
			if ns.gorSource != "" && ns.gorSource != record.SourcePprof {
				return " (source: " + ns.gorSource + ", no classes)"
			}
			return ""
		}})
}

// plotFDs is plot 4a: file descriptors by type, one plot per node.
func (b *builder) plotFDs() error {
	return b.plotStackedPerNode(stackedPlot{name: "fds", title: "File descriptors by type", ylabel: "open FDs",
		partKey: keyFDType, totalKey: keyFDTotal, what: "FD counts",
		parts: func(ns *nodeSeries) map[string]bool { return ns.fdTypes }})
}

// stackedPlot is a per-node plot of parts stacked under their total.
type stackedPlot struct {
	name, title, ylabel string
	partKey, totalKey   string // series keys: partKey+part, totalKey
	what                string // for "no sample of NODE has WHAT"
	parts               func(*nodeSeries) map[string]bool
	note                func(*nodeSeries) string // added to the title; may be nil
}

func (b *builder) plotStackedPerNode(sp stackedPlot) error {
	nodes := b.tl.nodeNames()
	if len(nodes) == 0 {
		b.skip(sp.name, sp.title, "no data: the run has no samples")
		return nil
	}
	for _, node := range nodes {
		ns := b.tl.nodes[node]
		name, title := sp.name+"-"+fileSafe(node), sp.title+": "+node
		if sp.note != nil {
			title += sp.note(ns)
		}
		c := b.newTimePlot(title, sp.ylabel)
		var labels []string
		var series [][]point
		for _, part := range slices.Sorted(maps.Keys(sp.parts(ns))) {
			if s := ns.get(sp.partKey + part); s != nil && s.peak > 0 {
				labels, series = append(labels, part), append(series, b.tl.points(s))
			}
		}
		c.stacked(labels, series)
		c.line("total", b.tl.points(ns.get(sp.totalKey)), 1, false, color.RGBA{0, 0, 0, 255})
		if c.series == 0 {
			b.skip(name, title, "no data: no sample of "+node+" has "+sp.what)
			continue
		}
		if err := b.saveCanvas(name, title, c); err != nil {
			return err
		}
	}
	return nil
}

// plotRSS is plot 4b: resident memory of every node.
func (b *builder) plotRSS() error {
	const name, title = "rss", "Resident memory (RSS)"
	c := b.newTimePlot(title, "RSS (MiB)")
	for _, node := range b.tl.nodeNames() {
		c.line(node, b.tl.points(b.tl.nodes[node].get(keyRSS)), 1.0/(1<<20), false, c.next())
	}
	if c.series == 0 {
		b.skip(name, title, "no data: no sample has RSS")
		return nil
	}
	return b.saveCanvas(name, title, c)
}

// fileSafe turns a node name into a file name part.
func fileSafe(s string) string {
	out := []rune{}
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_':
			out = append(out, r)
		default:
			out = append(out, '_')
		}
	}
	if len(out) == 0 {
		return "_"
	}
	return string(out)
}
