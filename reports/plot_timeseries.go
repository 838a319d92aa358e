package reports

import (
	"context"
	"fmt"
	"image/color"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"

	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"

	"github.com/soak-dev/soak/record"
)

// renderPlots draws every plot of the report, skipping with a note those
// that have no data.
func (b *builder) renderPlots(ctx context.Context) error {
	for _, f := range []func() error{
		b.plotConnections, b.plotIdleAges, b.plotGoroutines, b.plotFDs, b.plotRSS, b.plotRegistered,
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

// layerOnNode says whether layer belongs on node's plots: see layerNodes.
func (b *builder) layerOnNode(layer string, ns *nodeSeries) bool {
	return slices.Contains(b.layerNodes(layer), ns.name)
}

// layerNodes returns the nodes a layer is drawn from (see ownerNodes).
func (b *builder) layerNodes(layer string) []string { return ownerNodes(b.run.Meta, b.tl, layer) }

// layers returns every layer seen on any node, sorted.
func (b *builder) layers() []string { return b.tl.layerNames() }

// nodeLayers calls fn for each layer and each node it is drawn from, in a
// stable order (layers sorted, then nodes).
func (b *builder) nodeLayers(fn func(node, layer string, ns *nodeSeries)) {
	for _, l := range b.layers() {
		for _, node := range b.layerNodes(l) {
			fn(node, l, b.tl.nodes[node])
		}
	}
}

// saveCanvas saves one time panel as a figure at the report's size.
func (b *builder) saveCanvas(name, title string, c *canvas) error {
	return b.saveFigure(name, title, [][]*panel{{c.panel}}, plotWidth, plotHeight)
}

// plotConnections is plot 1: ESTABLISHED sockets per layer in one panel,
// TIME_WAIT and CLOSE_WAIT in another below it (hundreds of TIME_WAIT
// sockets would flatten a few dozen ESTABLISHED ones onto zero).
func (b *builder) plotConnections() error {
	const name, title = "connections", "Connections per layer"
	est := b.newTimePlot("ESTABLISHED sockets per layer", "sockets")
	closing := b.newTimePlot("TIME_WAIT (dotted) and CLOSE_WAIT (dashed) sockets per layer", "sockets")
	closing.shade.names = false
	closing.p.Legend.YOffs = -vg.Points(4)
	b.nodeLayers(func(node, l string, ns *nodeSeries) {
		col := est.next()
		est.line(b.label(node, l), b.tl.points(ns.get(keyEst(l))), 1, false, col)
		if s := ns.get(keyTimeWait(l)); s != nil && s.peak > 0 {
			closing.styledLine(b.label(node, l+" TIME_WAIT"), "dotted", b.tl.points(s), 1, col, vg.Points(1.5),
				[]vg.Length{vg.Points(1.5), vg.Points(2)}, false)
		}
		if s := ns.get(keyCloseWait(l)); s != nil && s.peak > 0 {
			closing.styledLine(b.label(node, l+" CLOSE_WAIT"), "dashed", b.tl.points(s), 1, col, vg.Points(2),
				[]vg.Length{vg.Points(6), vg.Points(3)}, false)
		}
	})
	if est.series == 0 {
		b.skip(name, title, "no data: no sample has socket counts")
		return nil
	}
	rows := [][]*panel{{est.panel}}
	if closing.series > 0 {
		rows = append(rows, []*panel{closing.panel})
	}
	return b.saveFigure(name, title, rows, plotWidth, plotHeight*0.8)
}

// Colours of the idle-age panels, the same in every panel so one legend
// serves them all.
var (
	idleMaxColor  = palette[0]
	idleP99Color  = color.RGBA{240, 190, 120, 255}
	passBandColor = fade(color.RGBA{40, 170, 70, 255}, 90) // translucent: the p99 area shows through
	limitColor    = color.RGBA{60, 60, 60, 255}
	statusColors  = map[string]color.RGBA{record.StatusPass: {10, 107, 45, 255}, record.StatusFail: {176, 0, 32, 255},
		record.StatusInconclusive: {154, 91, 0, 255}}
)

// reclaimCheck returns the verdict's reclaim check of a layer, if any.
func (b *builder) reclaimCheck(layer string) (record.CheckResult, bool) {
	return reclaimCheckOf(b.verdict, layer)
}

func reclaimCheckOf(v *record.Verdict, layer string) (record.CheckResult, bool) {
	if v == nil {
		return record.CheckResult{}, false
	}
	for _, c := range v.Checks {
		if c.Kind == "reclaim" && c.Layer == layer {
			return c, true
		}
	}
	return record.CheckResult{}, false
}

// reclaimLimit is a layer's pass limit (timeout + tolerance) from its
// reclaim check, or 0 when there is none above the timeout.
func reclaimLimit(v *record.Verdict, layer string, timeout float64) float64 {
	if c, ok := reclaimCheckOf(v, layer); ok && timeout > 0 && c.Limit > timeout {
		return c.Limit
	}
	return 0
}

// plotIdleAges is plot 2: one panel per layer, from the layer's own node,
// with its max and p99 kernel idle age against the pass band (the idle
// timeout up to the reclaim check's limit, timeout + tolerance) and the
// check's verdict in the panel's title: "reclaimed in time" is the max
// line staying under the top of the band.
func (b *builder) plotIdleAges() error {
	const name, title = "idle-age", "Idle age per layer against its pass band"
	var rows [][]*panel
	for _, l := range b.layers() {
		for _, node := range b.layerNodes(l) {
			ns := b.tl.nodes[node]
			mx := ns.get(keyIdleMax(l))
			if mx == nil {
				continue
			}
			c := b.newTimePlot(l, "idle age (s)")
			first := len(rows) == 0
			if !first {
				c.shade.names = false
			}
			label := func(s string) string {
				if first {
					return s
				}
				return "" // one legend, on the first panel: every panel draws alike
			}
			lm := b.run.Meta.Layers[l]
			timeout := float64(lm.IdleTimeoutMs) / 1000
			chk, hasCheck := b.reclaimCheck(l)
			limit := 0.0
			if hasCheck && chk.Limit >= timeout {
				limit = chk.Limit
			}
			// p99 as an area under the max line: where the two are equal
			// (a layer with few connections) both still show.
			if p := ns.get(keyIdleP99(l)); p != nil && p.peak > 0 {
				c.area(label("p99 idle age"), b.tl.points(p), idleP99Color)
			}
			if timeout > 0 && limit > timeout {
				c.hband(label("pass band (timeout .. limit)"), timeout, limit, passBandColor)
			}
			if timeout > 0 {
				c.hline(label("idle timeout"), timeout, limitColor, false)
			}
			if limit > 0 {
				c.hline(label("pass limit"), limit, limitColor, true)
			}
			c.styledLine(label("max idle age"), "line", b.tl.points(mx), 1, idleMaxColor, vg.Points(1.6), nil, false)
			c.Title = idleTitle(l, node, timeout, limit, chk, hasCheck)
			c.p.Title.Text = c.Title
			if hasCheck {
				c.Mark = chk.Status
				if col, ok := statusColors[chk.Status]; ok {
					c.p.Title.TextStyle.Color = col
				}
			}
			rows = append(rows, []*panel{c.panel})
		}
	}
	if len(rows) == 0 {
		b.skip(name, title, "no data: no sample has idle ages")
		return nil
	}
	return b.saveFigure(name, title, rows, plotWidth, plotHeight*0.7)
}

// idleTitle names a layer's idle panel with its node, timeout and verdict.
func idleTitle(layer, node string, timeout, limit float64, chk record.CheckResult, hasCheck bool) string {
	t := fmt.Sprintf("%s (node %s)", layer, node)
	if timeout > 0 {
		t += fmt.Sprintf(", idle timeout %s", secondsText(timeout))
	}
	if limit > 0 {
		t += fmt.Sprintf(", pass limit %s", secondsText(limit))
	}
	switch {
	case !hasCheck:
		return t + ": no reclaim check in the verdict"
	case chk.Status == record.StatusPass || chk.Status == record.StatusFail:
		return t + fmt.Sprintf(": %s, longest idle %s", strings.ToUpper(chk.Status), secondsText(chk.Value))
	default:
		return t + ": " + strings.ToUpper(chk.Status)
	}
}

// secondsText writes seconds the way the verdict does: "4 s", "4.5 s", "77.6 s".
func secondsText(s float64) string {
	return strconv.FormatFloat(math.Round(s*10)/10, 'f', -1, 64) + " s"
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
		ys := make([]float64, 0, len(l.poly)/2)
		for _, xy := range l.poly[:len(l.poly)/2] {
			ys = append(ys, xy.Y)
		}
		c.addLine(l.label, "stacked", ys)
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

// plotRegistered draws each series a probe source registered (series.Def)
// that the run's samples have, every node on one plot: series-NAME. A run
// without such a series gets no plot and no note.
func (b *builder) plotRegistered() error {
	for _, d := range b.tl.registered {
		name, title := "series-"+fileSafe(d.Name), d.Name+": "+d.Help
		c := b.newTimePlot(title, d.Unit)
		for _, node := range b.tl.nodeNames() {
			c.line(node, b.tl.points(b.tl.nodes[node].get(d.Name)), 1, false, c.next())
		}
		if c.series == 0 {
			continue
		}
		if err := b.saveCanvas(name, title, c); err != nil {
			return err
		}
	}
	return nil
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
