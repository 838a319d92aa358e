package reports

import (
	"fmt"
	"image/color"
	"maps"
	"math"
	"slices"

	"gonum.org/v1/plot"
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
func binLabels() []string {
	out := make([]string, 0, len(histBoundsS)+1)
	for _, b := range histBoundsS {
		out = append(out, "≤"+shortSeconds(b))
	}
	return append(out, ">"+shortSeconds(histBoundsS[len(histBoundsS)-1]))
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

// histPlot draws one histogram per closer as grouped bars.
func histPlot(title string, byCloser map[string][]int) (*plot.Plot, int) {
	p := plot.New()
	p.Title.Text = title
	p.Y.Label.Text = "connections"
	p.X.Label.Text = "seconds"
	p.Y.Tick.Marker = shortTicks{}
	p.Legend.Top = true
	p.Legend.TextStyle.Font.Size = vg.Points(9)
	closers := slices.Sorted(maps.Keys(byCloser))
	const groupWidth = 14.0
	w := vg.Points(groupWidth / float64(max(len(closers), 1)))
	drawn := 0
	for i, by := range closers {
		vals := make(plotter.Values, len(byCloser[by]))
		for j, n := range byCloser[by] {
			vals[j] = float64(n)
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
		drawn++
	}
	p.NominalX(binLabels()...)
	p.X.Tick.Label.Rotation = math.Pi / 4
	p.X.Tick.Label.XAlign = draw.XRight
	p.X.Tick.Label.Font.Size = vg.Points(8)
	p.Add(plotter.NewGrid())
	headroom(p, drawn, plotHeight)
	return p, drawn
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
		life, dl := histPlot(fmt.Sprintf("%s: lifetime (%s witness)", l, w), lc.lifetime[w])
		idle, di := histPlot(fmt.Sprintf("%s: idle before close (%s witness)", l, w), lc.idle[w])
		name, t := "lifetimes-"+fileSafe(l), title+": "+l
		if dl+di == 0 {
			b.skip(name, t, "no data: every "+l+" connection was still open at the end")
			continue
		}
		if to := b.run.Meta.Layers[l].IdleTimeoutMs; to > 0 {
			t += fmt.Sprintf(" (idle timeout %gs)", float64(to)/1000)
		}
		if err := b.saveGrid(name, t, [][]*plot.Plot{{life, idle}}, plotWidth, plotHeight); err != nil {
			return err
		}
	}
	return nil
}
