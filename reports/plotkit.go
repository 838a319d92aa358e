package reports

import (
	"fmt"
	"image/color"
	"math"
	"strconv"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/soak-dev/soak/record"
)

// Plot size on the page.
const (
	plotWidth  = 26 * vg.Centimeter
	plotHeight = 11 * vg.Centimeter
)

// palette is a colour-blind-safe set (Okabe-Ito plus darker extras), in
// the order series get them.
var palette = []color.RGBA{
	{0, 114, 178, 255},   // blue
	{213, 94, 0, 255},    // vermillion
	{0, 158, 115, 255},   // green
	{204, 121, 167, 255}, // purple
	{230, 159, 0, 255},   // orange
	{86, 180, 233, 255},  // sky
	{100, 100, 100, 255}, // grey
	{240, 228, 66, 255},  // yellow
	{128, 0, 0, 255},     // maroon
	{0, 0, 128, 255},     // navy
}

func colorAt(i int) color.RGBA { return palette[i%len(palette)] }

func fade(c color.RGBA, a uint8) color.RGBA {
	// Premultiplied alpha, as color.RGBA requires.
	f := float64(a) / 255
	return color.RGBA{uint8(float64(c.R) * f), uint8(float64(c.G) * f), uint8(float64(c.B) * f), a}
}

// timeUnit picks seconds, minutes or hours for a run's span.
type timeUnit struct {
	name string
	div  float64
}

func unitFor(spanS float64) timeUnit {
	switch {
	case spanS > 3*3600:
		return timeUnit{"h", 3600}
	case spanS > 5*60:
		return timeUnit{"min", 60}
	default:
		return timeUnit{"s", 1}
	}
}

// canvas is one time-axis panel of a run being built.
type canvas struct {
	*panel
	unit   timeUnit
	shade  *phaseShading
	n      int // colours handed out
	series int // series drawn
}

// headroom raises the top of the y axis so the legend (top right, below the
// phase names) sits over empty space instead of over the data.
func headroom(p *plot.Plot, entries int, height vg.Length) {
	if entries == 0 || p.Y.Max <= p.Y.Min || p.Y.Scale != nil && p.Y.Scale != (plot.LinearScale{}) {
		return
	}
	used := vg.Length(entries)*p.Legend.TextStyle.Height("Xg") + vg.Points(34)
	frac := float64(used / (height - vg.Points(60)))
	frac = math.Min(frac, 0.6)
	p.Y.Max = p.Y.Min + (p.Y.Max-p.Y.Min)/(1-frac)
}

// next returns the next colour of the palette.
func (c *canvas) next() color.RGBA {
	col := colorAt(c.n)
	c.n++
	return col
}

// newTimePlot makes a panel with the run's phases shaded and named along the
// time axis, in the unit that suits the run's span.
func (b *builder) newTimePlot(title, ylabel string) *canvas {
	pn := newPanel(title)
	p := pn.p
	p.Y.Label.Text = ylabel
	u := unitFor(b.spanS)
	p.X.Label.Text = fmt.Sprintf("time since start (%s)", u.name)
	p.X.Min, p.X.Max = 0, math.Max(b.spanS/u.div, 1e-9)
	p.Y.Min = 0
	p.Legend.Top = true
	// Below the phase names, which run along the top edge.
	p.Legend.YOffs = -vg.Points(24)
	p.Legend.XOffs = -vg.Points(4)
	p.Legend.ThumbnailWidth = 0.8 * vg.Centimeter
	ps := &phaseShading{phases: b.run.Meta.Phases, start: b.run.Meta.Start, div: u.div, names: true}
	p.Add(ps)
	p.Y.Tick.Marker = shortTicks{}
	p.X.Tick.Marker = shortTicks{}
	p.Add(plotter.NewGrid())
	return &canvas{panel: pn, unit: u, shade: ps}
}

// line adds a series as a line of bucket means with a min/max band around it
// (the band is what keeps a spike visible after downsampling).
func (c *canvas) line(label string, pts []point, scale float64, dashed bool, col color.RGBA) {
	style := "line"
	var dashes []vg.Length
	if dashed {
		style, dashes = "dotted", []vg.Length{vg.Points(1.5), vg.Points(2)} // dotted; dashes are for limits
	}
	c.styledLine(label, style, pts, scale, col, vg.Points(1.5), dashes, !dashed)
}

// styledLine is line with the style given: a band (min..max) only when
// banded, and the width and dashes of the line.
func (c *canvas) styledLine(label, style string, pts []point, scale float64, col color.RGBA, width vg.Length, dashes []vg.Length, banded bool) {
	if len(pts) == 0 {
		return
	}
	if banded {
		banded = false
		for _, p := range pts {
			if p.Max != p.Min {
				banded = true
				break
			}
		}
	}
	if banded {
		poly := make(plotter.XYs, 0, 2*len(pts))
		for _, p := range pts {
			poly = append(poly, plotter.XY{X: p.X / c.unit.div, Y: p.Max * scale})
		}
		for i := len(pts) - 1; i >= 0; i-- {
			poly = append(poly, plotter.XY{X: pts[i].X / c.unit.div, Y: pts[i].Min * scale})
		}
		if pg, err := plotter.NewPolygon(poly); err == nil {
			pg.Color = fade(col, 40)
			pg.LineStyle.Width = 0
			c.p.Add(pg)
		}
	}
	xy := make(plotter.XYs, len(pts))
	ys := make([]float64, len(pts))
	for i, p := range pts {
		xy[i] = plotter.XY{X: p.X / c.unit.div, Y: p.Mean * scale}
		if !banded {
			xy[i].Y = p.Max * scale
		}
		ys[i] = xy[i].Y
	}
	l, err := plotter.NewLine(xy)
	if err != nil {
		return
	}
	l.Color = col
	l.Width = width
	l.Dashes = dashes
	c.p.Add(l)
	if label != "" {
		c.p.Legend.Add(label, l)
		c.legend++
	}
	c.addLine(label, style, ys)
	c.growY(pts, scale)
	c.series++
}

func (c *canvas) growY(pts []point, scale float64) {
	for _, p := range pts {
		c.p.Y.Max = math.Max(c.p.Y.Max, p.Max*scale)
	}
}

// area adds a series as a filled area from 0 up to each bucket's max: drawn
// under a line of the same values, both stay visible where they are equal.
func (c *canvas) area(label string, pts []point, col color.RGBA) {
	if len(pts) == 0 {
		return
	}
	poly := make(plotter.XYs, 0, len(pts)+2)
	ys := make([]float64, len(pts))
	poly = append(poly, plotter.XY{X: pts[0].X / c.unit.div, Y: 0})
	for i, p := range pts {
		poly = append(poly, plotter.XY{X: p.X / c.unit.div, Y: p.Max})
		ys[i] = p.Max
	}
	poly = append(poly, plotter.XY{X: pts[len(pts)-1].X / c.unit.div, Y: 0})
	pg, err := plotter.NewPolygon(poly)
	if err != nil {
		return
	}
	pg.Color = col
	pg.LineStyle.Width = 0
	c.p.Add(pg)
	if label != "" {
		c.p.Legend.Add(label, pg)
		c.legend++
	}
	c.addLine(label, "area", ys)
	c.growY(pts, 1)
	c.series++
}

// hline draws a horizontal reference line (an idle timeout) across the plot:
// dashed, or solid for a limit.
func (c *canvas) hline(label string, y float64, col color.Color, solid bool) {
	f := plotter.NewFunction(func(float64) float64 { return y })
	f.Color = col
	f.Width = vg.Points(1.2)
	style := "solid"
	if !solid {
		f.Dashes = []vg.Length{vg.Points(6), vg.Points(3)}
		style = "dashed"
	}
	c.p.Add(f)
	if label != "" {
		c.p.Legend.Add(label, f)
		c.legend++
	}
	c.Lines = append(c.Lines, refLine{Label: label, Axis: "y", At: round(y), Style: style})
	c.p.Y.Max = math.Max(c.p.Y.Max, y*1.15)
}

// hband shades the values lo..hi across the whole time axis (a pass band).
func (c *canvas) hband(label string, lo, hi float64, col color.RGBA) {
	if hi <= lo {
		return
	}
	x0, x1 := c.p.X.Min, c.p.X.Max
	pg, err := plotter.NewPolygon(plotter.XYs{{X: x0, Y: lo}, {X: x1, Y: lo}, {X: x1, Y: hi}, {X: x0, Y: hi}})
	if err != nil {
		return
	}
	pg.Color = col
	pg.LineStyle.Width = 0
	c.p.Add(pg)
	if label != "" {
		c.p.Legend.Add(label, pg)
		c.legend++
	}
	c.Bands = append(c.Bands, band{Label: label, Lo: round(lo), Hi: round(hi)})
	c.p.Y.Max = math.Max(c.p.Y.Max, hi*1.1)
}

// phaseShading shades every other phase and writes each phase's name at the
// top of the plot, so a reader can tell which load caused what.
type phaseShading struct {
	phases []record.PhaseMeta
	start  time.Time
	div    float64
	// names writes the phase names along the top (the first panel of a
	// figure; the others share its time axis).
	names bool
}

func (ps *phaseShading) offset(t time.Time) float64 { return t.Sub(ps.start).Seconds() }

// Plot implements plot.Plotter.
func (ps *phaseShading) Plot(c draw.Canvas, p *plot.Plot) {
	trX, _ := p.Transforms(&c)
	sty := text.Style{Color: color.Gray{90}, Font: plot.DefaultFont, Handler: p.Title.TextStyle.Handler,
		XAlign: draw.XLeft, YAlign: draw.YTop}
	sty.Font.Size = vg.Points(8)
	// Two rows of names; a name that fits in neither row is left out (the
	// shading still shows the phase, and the report's phase table names it).
	rowEnd := [2]vg.Length{-1e9, -1e9}
	span := func(ph record.PhaseMeta) (x0, x1 vg.Length) {
		s, e := ps.offset(ph.Start), ps.offset(ph.End)
		if ph.End.IsZero() {
			e = p.X.Max * ps.div
		}
		x0, x1 = trX(s/ps.div), trX(e/ps.div)
		return max(x0, c.Min.X), min(x1, c.Max.X)
	}
	// Shading first, names second: a phase's shading must not cover the
	// tail of the previous phase's name.
	for i, ph := range ps.phases {
		x0, x1 := span(ph)
		if x1 <= x0 {
			continue
		}
		if i%2 == 0 {
			c.FillPolygon(color.RGBA{235, 238, 245, 255}, c.ClipPolygonXY([]vg.Point{
				{X: x0, Y: c.Min.Y}, {X: x1, Y: c.Min.Y}, {X: x1, Y: c.Max.Y}, {X: x0, Y: c.Max.Y}}))
		}
		c.StrokeLine2(draw.LineStyle{Color: color.Gray{200}, Width: vg.Points(0.5)}, x0, c.Min.Y, x0, c.Max.Y)
	}
	for _, ph := range ps.phases {
		x0, x1 := span(ph)
		if x1 <= x0 || !ps.names {
			continue
		}
		name := ph.Name
		w := sty.Width(name)
		for row := range rowEnd {
			if x0 >= rowEnd[row] && x0+w <= c.Max.X {
				y := c.Max.Y - vg.Points(2) - vg.Length(row)*sty.Height(name)
				c.FillText(sty, vg.Point{X: x0 + vg.Points(2), Y: y}, name)
				rowEnd[row] = x0 + w + vg.Points(6)
				break
			}
		}
	}
}

// shortTicks labels ticks without trailing zeros ("25", not "25.00").
type shortTicks struct{}

// Ticks implements plot.Ticker.
func (shortTicks) Ticks(min, max float64) []plot.Tick {
	ts := plot.DefaultTicks{}.Ticks(min, max)
	for i := range ts {
		if ts[i].Label != "" {
			ts[i].Label = strconv.FormatFloat(ts[i].Value, 'g', 6, 64)
		}
	}
	return ts
}
