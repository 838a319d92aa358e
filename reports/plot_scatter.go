package reports

import (
	"fmt"

	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"

	"github.com/soak-dev/soak/internal/stats"
)

// plotScatter is plot 6: goroutines against established connections, one
// point per plotted interval, with the fitted slope: goroutines per
// connection (about 2 for net/http client connections, 1 for server ones).
func (b *builder) plotScatter() error {
	const name, title = "goroutines-per-conn", "Goroutines vs established connections"
	pn := newPanel(title)
	p := pn.p
	p.X.Label.Text = "established connections (all layers)"
	p.Y.Label.Text = "goroutines"
	p.X.Tick.Marker, p.Y.Tick.Marker = shortTicks{}, shortTicks{}
	p.Legend.Top = true
	p.Legend.Left = true
	p.Add(plotter.NewGrid())
	drawn := 0
	for i, node := range b.tl.nodeNames() {
		ns := b.tl.nodes[node]
		g, e := ns.get(keyGorTotal), ns.get(keyEstAll)
		if g == nil || e == nil {
			continue
		}
		var xy plotter.XYs
		for k := range g.b {
			if g.b[k].n > 0 && e.b[k].n > 0 {
				xy = append(xy, plotter.XY{X: e.b[k].mean(), Y: g.b[k].mean()})
			}
		}
		if len(xy) == 0 {
			continue
		}
		col := colorAt(i)
		sc, err := plotter.NewScatter(xy)
		if err != nil {
			continue
		}
		sc.Color = col
		sc.Radius = vg.Points(2)
		p.Add(sc)
		label := node
		x, y := make([]float64, len(xy)), make([]float64, len(xy))
		for k := range xy {
			x[k], y[k] = xy[k].X, xy[k].Y
		}
		if a, slope, ok := stats.OLS(x, y); ok {
			f := plotter.NewFunction(func(x float64) float64 { return a + slope*x })
			f.Color = col
			f.Width = vg.Points(1.5)
			p.Add(f)
			label = fmt.Sprintf("%s: %.2f goroutines per connection", node, slope)
		}
		p.Legend.Add(label, sc)
		pn.legend++
		pn.addLine(label, "points", y)
		drawn++
	}
	if drawn == 0 {
		b.skip(name, title, "no data: no sample has both goroutines and sockets")
		return nil
	}
	return b.saveFigure(name, title, [][]*panel{{pn}}, plotWidth*0.85, plotHeight*1.1)
}
