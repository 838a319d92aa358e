package reports

import (
	"fmt"
	"math"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/vg"

	"github.com/soak-dev/soak/record"
)

// figure is one plot file in data terms: its panels, each with its axes,
// series, bands, reference lines and pass/fail mark. The plot is rendered
// from the same panels; the golden tests compare figures, not pixels.
type figure struct {
	Name  string `json:"name"`
	Title string `json:"title"`
	// Note replaces the plot when it had no data, saying why.
	Note string     `json:"note,omitempty"`
	Rows [][]*panel `json:"rows,omitempty"`
}

// panel is one plot of a figure and what it was built from.
type panel struct {
	p      *plot.Plot
	Title  string `json:"title"`
	X      axis   `json:"x"`
	Y      axis   `json:"y"`
	Series []line `json:"series,omitempty"`
	// Bands are shaded value ranges (a pass band), Lines reference lines
	// (a timeout, a limit).
	Bands []band    `json:"bands,omitempty"`
	Lines []refLine `json:"lines,omitempty"`
	// Mark is the pass/fail verdict the panel shows ("" when none).
	Mark   string `json:"mark,omitempty"`
	legend int    // legend entries
}

// axis is an axis as drawn: its range after every series and the legend's
// headroom were accounted for.
type axis struct {
	Label string  `json:"label"`
	Min   float64 `json:"min"`
	Max   float64 `json:"max"`
	Log   bool    `json:"log,omitempty"`
	// Names are the categories of a nominal axis.
	Names []string `json:"names,omitempty"`
}

// line is one drawn series, summarised: how many points and their range;
// Values holds every value of a bar series.
type line struct {
	Label  string    `json:"label"`
	Style  string    `json:"style"`
	Points int       `json:"points"`
	First  float64   `json:"first"`
	Last   float64   `json:"last"`
	Min    float64   `json:"min"`
	Max    float64   `json:"max"`
	Values []float64 `json:"values,omitempty"`
}

type band struct {
	Label string  `json:"label"`
	Lo    float64 `json:"lo"`
	Hi    float64 `json:"hi"`
}

type refLine struct {
	Label string  `json:"label"`
	Axis  string  `json:"axis"` // "x" (a vertical line) or "y"
	At    float64 `json:"at"`
	Style string  `json:"style"`
}

func newPanel(title string) *panel {
	p := plot.New()
	p.Title.Text = title
	p.Title.TextStyle.Font.Size = vg.Points(11)
	p.Legend.TextStyle.Font.Size = vg.Points(10)
	p.Legend.Padding = vg.Points(2)
	return &panel{p: p, Title: title}
}

// addLine records a series of xs, ys drawn in style.
func (pn *panel) addLine(label, style string, ys []float64) {
	l := line{Label: label, Style: style, Points: len(ys)}
	for i, y := range ys {
		y = round(y)
		if i == 0 {
			l.First, l.Min, l.Max = y, y, y
		}
		l.Min, l.Max, l.Last = math.Min(l.Min, y), math.Max(l.Max, y), y
	}
	pn.Series = append(pn.Series, l)
}

// addBars records a bar series with every value.
func (pn *panel) addBars(label string, vals []float64) {
	pn.addLine(label, "bars", vals)
	rv := make([]float64, len(vals))
	for i, v := range vals {
		rv[i] = round(v)
	}
	pn.Series[len(pn.Series)-1].Values = rv
}

// fixAxes copies the axes' final ranges into the record.
func (pn *panel) fixAxes() {
	pn.X.Label, pn.Y.Label = pn.p.X.Label.Text, pn.p.Y.Label.Text
	pn.X.Min, pn.X.Max, pn.Y.Min, pn.Y.Max = round(pn.p.X.Min), round(pn.p.X.Max), round(pn.p.Y.Min), round(pn.p.Y.Max)
}

// saveFigure renders a figure's panels (rows of columns, axes aligned) as
// plots/<name>.png and .svg, keeps the PNG for the page and the figure for
// the tests. rowHeight is the height of one row.
func (b *builder) saveFigure(name, title string, rows [][]*panel, w, rowHeight vg.Length) error {
	fig := figure{Name: name, Title: title, Rows: rows}
	side := sideLegends(rows)
	for _, row := range rows {
		for _, pn := range row {
			if !side {
				headroom(pn.p, pn.legend, rowHeight)
			}
			pn.fixAxes()
		}
	}
	b.figs = append(b.figs, fig)
	pf := plotFile{Name: name, Title: title}
	if b.noRender {
		b.plots = append(b.plots, pf)
		return nil
	}
	h := rowHeight * vg.Length(len(rows))
	for _, format := range []string{"png", "svg"} {
		data, err := renderGrid(rows, w, h, format)
		if err != nil {
			return fmt.Errorf("render plot %s: %w", name, err)
		}
		if err := b.run.WriteFile(data, record.PlotsDir, name+"."+format); err != nil {
			// plots/ may be a symlink out of an untrusted run directory:
			// the page still shows the plot, the files are not written.
			if !b.plotsLost {
				b.plotsLost = true
				b.notes = append(b.notes, fmt.Sprintf("plot files not written (%v); the plots are only in report.html", err))
			}
		}
		if format == "png" {
			pf.PNG = data
		}
	}
	b.plots = append(b.plots, pf)
	return nil
}

// skip records a plot that has nothing to show, with the reason.
func (b *builder) skip(name, title, why string) {
	b.plots = append(b.plots, plotFile{Name: name, Title: title, Note: why})
	b.figs = append(b.figs, figure{Name: name, Title: title, Note: why})
}

// logCounts is a log scale for counts that draws 0 (and anything below the
// axis minimum) at the bottom instead of panicking as plot.LogScale does:
// a histogram's empty bins are bars of no height.
type logCounts struct{}

// Normalize implements plot.Normalizer.
func (logCounts) Normalize(lo, hi, x float64) float64 {
	lo = math.Max(lo, 0.5)
	hi = math.Max(hi, lo*10)
	x = math.Min(math.Max(x, lo), hi)
	return (math.Log(x) - math.Log(lo)) / (math.Log(hi) - math.Log(lo))
}

// logCountTicks labels the powers of ten of a count axis: 1, 10, 100...
type logCountTicks struct{}

// Ticks implements plot.Ticker.
func (logCountTicks) Ticks(lo, hi float64) []plot.Tick {
	var ts []plot.Tick
	for v := 1.0; v <= hi*1.0001; v *= 10 {
		ts = append(ts, plot.Tick{Value: v, Label: strconv.FormatFloat(v, 'f', -1, 64)})
		for i := 2.0; i < 10 && v*i <= hi; i++ {
			ts = append(ts, plot.Tick{Value: v * i})
		}
	}
	return ts
}

// round keeps 6 significant digits, so recorded figures do not depend on
// the last bits of floating point arithmetic.
func round(v float64) float64 {
	if v == 0 || math.IsNaN(v) || math.IsInf(v, 0) {
		return v
	}
	r, _ := strconv.ParseFloat(strconv.FormatFloat(v, 'g', 6, 64), 64)
	return r
}
