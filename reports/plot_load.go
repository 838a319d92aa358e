package reports

import (
	"math"

	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/soak-dev/soak/record"
)

// plotLoad is plot 7: per phase, requests per second and errors, and the
// latency percentiles, from the phases' load results.
func (b *builder) plotLoad() error {
	const name, title = "load", "Load per phase: request rate, errors and latency"
	var prs []record.PhaseResult
	for _, pr := range b.prs {
		if pr.Requests > 0 {
			prs = append(prs, pr)
		}
	}
	if len(prs) == 0 {
		b.skip(name, title, "no data: no phase sent requests")
		return nil
	}
	names := make([]string, len(prs))
	rate, errs, p50, p90, p99 := make(plotter.Values, len(prs)), make(plotter.Values, len(prs)),
		make(plotter.Values, len(prs)), make(plotter.Values, len(prs)), make(plotter.Values, len(prs))
	for i, pr := range prs {
		names[i] = pr.Phase
		rate[i] = pr.Rate
		errs[i] = pr.Rate * (1 - phaseSuccess(pr))
		p50[i], p90[i], p99[i] = pr.LatencyP50, pr.LatencyP90, pr.LatencyP99
	}
	bars := func(title, ylabel string, labels []string, series []plotter.Values) *panel {
		pn := newPanel(title)
		p := pn.p
		p.Y.Label.Text = ylabel
		p.Y.Tick.Marker = shortTicks{}
		p.Legend.Top = true
		w := vg.Points(36 / float64(len(series)))
		for i, v := range series {
			bc, err := plotter.NewBarChart(v, w)
			if err != nil {
				continue
			}
			bc.Color = colorAt(i)
			bc.LineStyle.Width = 0
			bc.Offset = w*vg.Length(i) - vg.Points(18) + w/2
			p.Add(bc)
			p.Legend.Add(labels[i], bc)
			pn.legend++
			pn.addBars(labels[i], v)
		}
		p.NominalX(names...)
		pn.X.Names = names
		p.X.Tick.Label.Rotation = math.Pi / 6
		p.X.Tick.Label.XAlign = draw.XRight
		p.Add(plotter.NewGrid())
		return pn
	}
	left := bars("Requests per second", "requests/s", []string{"attempted", "failed"}, []plotter.Values{rate, errs})
	right := bars("Latency", "ms", []string{"p50", "p90", "p99"}, []plotter.Values{p50, p90, p99})
	return b.saveFigure(name, title, [][]*panel{{left, right}}, plotWidth, plotHeight)
}
