package reports

import (
	"fmt"
	"image/color"
	"maps"
	"math"
	"slices"

	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/soak-dev/soak/record"
)

// closerColor keeps one colour per closer across all plots.
func closerColor(by string) color.RGBA {
	switch by {
	case record.ClosedByClient:
		return palette[0]
	case record.ClosedByServer:
		return palette[1]
	case record.ClosedByTimeout:
		return palette[2]
	case record.ClosedByFault:
		return palette[3]
	default:
		return palette[6]
	}
}

// binLabels names the histogram bins.
func binLabels(bounds []float64) []string {
	out := make([]string, 0, len(bounds)+1)
	for _, b := range bounds {
		out = append(out, "≤"+shortSeconds(b))
	}
	return append(out, ">"+shortSeconds(bounds[len(bounds)-1]))
}

func shortSeconds(s float64) string {
	switch {
	case s >= 3600:
		return fmt.Sprintf("%gh", s/3600)
	case s >= 60:
		return fmt.Sprintf("%gm", s/60)
	default:
		return fmt.Sprintf("%gs", s)
	}
}

// histPlot draws one histogram per closer as grouped bars on a log count
// axis (one connection in a bin still shows next to thousands in another),
// with the layer's idle timeout (dashed) and pass limit (solid) marked
// where they fall between the bins; 0 leaves a mark out.
func histPlot(title string, bounds []float64, byCloser map[string][]int, timeout, limit float64) (*panel, int) {
	pn := newPanel(title)
	p := pn.p
	p.Y.Label.Text = "connections (log scale)"
	p.X.Label.Text = "seconds"
	p.Legend.Top = true
	closers := slices.Sorted(maps.Keys(byCloser))
	const groupWidth = 14.0
	w := vg.Points(groupWidth / float64(max(len(closers), 1)))
	drawn := 0
	peak := 1.0
	for i, by := range closers {
		vals := make(plotter.Values, len(byCloser[by]))
		for j, n := range byCloser[by] {
			vals[j] = float64(n)
			peak = math.Max(peak, vals[j])
		}
		bc, err := plotter.NewBarChart(vals, w)
		if err != nil {
			continue
		}
		bc.Color = closerColor(by)
		bc.LineStyle.Width = 0
		bc.Offset = w*vg.Length(i) - vg.Points(groupWidth)/2 + w/2
		p.Add(bc)
		p.Legend.Add("closed by "+by, bc)
		pn.legend++
		pn.addBars("closed by "+by, vals)
		drawn++
	}
	names := binLabels(bounds)
	p.NominalX(names...)
	pn.X.Names = names
	p.X.Tick.Label.Rotation = math.Pi / 4
	p.X.Tick.Label.XAlign = draw.XRight
	p.X.Tick.Label.Font.Size = vg.Points(8)
	p.Add(plotter.NewGrid())
	// Log counts: the top leaves room for the legend (a decade per three
	// entries), the bottom sits under 1 so a bin of one connection shows.
	p.Y.Scale, p.Y.Tick.Marker = logCounts{}, logCountTicks{}
	pn.Y.Log = true
	p.Y.Min, p.Y.Max = 0.7, peak*math.Pow(10, 0.4+float64(drawn)/3)
	for _, m := range []struct {
		label string
		at    float64
		solid bool
	}{{"idle timeout", timeout, false}, {"pass limit", limit, true}} {
		if m.at <= 0 {
			continue
		}
		x := binPos(bounds, m.at)
		ln, err := plotter.NewLine(plotter.XYs{{X: x, Y: p.Y.Min}, {X: x, Y: p.Y.Max}})
		if err != nil {
			continue
		}
		ln.Color, ln.Width = limitColor, vg.Points(1.2)
		style := "solid"
		if !m.solid {
			ln.Dashes, style = []vg.Length{vg.Points(6), vg.Points(3)}, "dashed"
		}
		p.Add(ln)
		label := fmt.Sprintf("%s %s", m.label, secondsText(m.at))
		p.Legend.Add(label, ln)
		pn.legend++
		pn.Lines = append(pn.Lines, refLine{Label: label, Axis: "x", At: round(m.at), Style: style})
	}
	return pn, drawn
}

// binPos is where v seconds falls on the histogram's nominal axis: bin i
// is drawn at x = i and spans i-0.5 .. i+0.5, log-interpolated inside it
// (a value that is a bound falls on the edge after its bin).
func binPos(bounds []float64, v float64) float64 {
	i := histBin(bounds, v) // the first bin whose bound is >= v
	lo := 0.0
	if i > 0 {
		lo = bounds[i-1]
	}
	if i >= len(bounds) {
		return float64(i) // the overflow bin
	}
	hi := bounds[i]
	if lo <= 0 {
		return float64(i) - 0.5 + v/hi
	}
	return float64(i) - 0.5 + math.Log(v/lo)/math.Log(hi/lo)
}

// plotLifetimes is plot 5: per layer, how long connections lived and how
// long they sat idle before the close, split by who closed them, from the
// strongest witness of the layer.
func (b *builder) plotLifetimes() error {
	const title = "Connection lifetimes and idle-before-close"
	if len(b.cs.layers) == 0 {
		b.skip("lifetimes", title, "no data: conns.jsonl holds no finished connection")
		return nil
	}
	for _, l := range slices.Sorted(maps.Keys(b.cs.layers)) {
		lc := b.cs.layers[l]
		w := lc.witness()
		timeout := float64(b.run.Meta.Layers[l].IdleTimeoutMs) / 1000
		limit := 0.0
		if chk, ok := b.reclaimCheck(l); ok && chk.Limit > timeout && timeout > 0 {
			limit = chk.Limit
		}
		life, dl := histPlot(fmt.Sprintf("%s: lifetime (%s witness)", l, w), lc.bounds, lc.lifetime[w], timeout, limit)
		idle, di := histPlot(fmt.Sprintf("%s: idle before close (%s witness)", l, w), lc.bounds, lc.idle[w], timeout, limit)
		name, t := "lifetimes-"+fileSafe(l), title+": "+l
		if dl+di == 0 {
			b.skip(name, t, "no data: every "+l+" connection was still open at the end")
			continue
		}
		if timeout > 0 {
			t += fmt.Sprintf(" (idle timeout %s)", secondsText(timeout))
		}
		if err := b.saveFigure(name, t, [][]*panel{{life, idle}}, plotWidth, plotHeight); err != nil {
			return err
		}
	}
	return nil
}
