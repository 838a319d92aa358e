// Package reports builds what a person reads after a soak: plots, the HTML
// report, summary.json, and comparisons of two runs.
//
// Everything is computed from the run directory alone (through package
// record), in one streaming pass over samples.jsonl and one over
// conns.jsonl, so a report can be rebuilt for any run: finished,
// interrupted, killed, or months old.
package reports

import (
	"bytes"
	"context"
	"fmt"
	"image/png"
	"io"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgsvg"

	"github.com/soak-dev/soak/reclaimed"
	"github.com/soak-dev/soak/record"
)

// builder holds one run being reported.
type builder struct {
	run     *record.Run
	tl      *timeline
	cs      *connStats
	prs     []record.PhaseResult
	verdict *record.Verdict
	sum     *Summary
	spanS   float64
	plots   []plotFile
	// figs is what every plot was built from (figure.go); with noRender
	// the plots are built but not drawn (the golden tests).
	figs     []figure
	noRender bool
	// notes say what was skipped and why, shown in the report.
	notes []string
	// plotsLost is set once plots/ could not be written.
	plotsLost bool
}

// plotFile is one rendered plot.
type plotFile struct {
	Name  string // file stem under plots/
	Title string
	PNG   []byte
	// Note replaces the image when the plot had no data.
	Note string
}

// Build (re)builds report.html, summary.json and plots/ of the run in dir
// and returns the path of report.html.
func Build(dir string) (string, error) {
	return BuildContext(context.Background(), dir)
}

// BuildContext is Build that gives up when ctx ends (a second Ctrl-C), between
// plots and before report.html is written, so an abandoned build leaves no
// report.html behind. It then returns an error wrapping ctx.Err().
func BuildContext(ctx context.Context, dir string) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", fmt.Errorf("build report: %w", err)
	}
	b, err := load(dir)
	if err != nil {
		return "", err
	}
	defer b.run.Close()
	if err := b.renderPlots(ctx); err != nil {
		return "", err
	}
	if err := b.run.WriteJSON(b.sum, record.SummaryJSON); err != nil {
		return "", fmt.Errorf("build report: %w", err)
	}
	html, err := b.renderHTML()
	if err != nil {
		return "", err
	}
	if err := ctx.Err(); err != nil {
		return "", fmt.Errorf("build report: %w", err)
	}
	out := b.run.Path(record.ReportHTML)
	if err := b.run.WriteFile(html, record.ReportHTML); err != nil {
		return "", fmt.Errorf("build report: %w", err)
	}
	return out, nil
}

// Summarize computes the summary of the run in dir without writing anything.
func Summarize(dir string) (*Summary, error) {
	b, err := load(dir)
	if err != nil {
		return nil, err
	}
	b.run.Close()
	return b.sum, nil
}

// load reads the run directory in one pass per file and computes the summary.
func load(dir string) (*builder, error) {
	r, err := record.OpenTolerant(dir)
	if err != nil {
		return nil, fmt.Errorf("build report: %w", err)
	}
	b := &builder{run: r, tl: newTimeline(r.Meta), cs: newConnStats(time.Duration(r.Meta.IntervalMs) * time.Millisecond)}
	b.cs.reclaim = reclaimed.New(r.Meta, b.tl.cycleAt)
	b.cs.ledger = reclaimed.NewLedgerLayers(r.Meta)
	if e := r.Meta.End; !e.IsZero() && e.After(r.Meta.Start) {
		b.spanS = e.Sub(r.Meta.Start).Seconds()
	}
	// The verdict first: its reclaim limits are bounds of the lifetime
	// histograms, folded with conns.jsonl.
	var verr error
	b.verdict, verr = r.Verdict()
	b.cs.bounds = map[string][]float64{}
	for l, lm := range r.Meta.Layers {
		timeout := float64(lm.IdleTimeoutMs) / 1000
		b.cs.bounds[l] = withBounds(timeout, reclaimLimit(b.verdict, l, timeout))
	}
	// conns.jsonl is read alongside samples.jsonl: both are large in a long
	// run and decoding JSON is most of the cost. The second Run value keeps
	// the readers' warnings apart.
	rc := &record.Run{Dir: r.Dir, Meta: r.Meta}
	defer rc.Close()
	connErr := make(chan error, 1)
	go func() { connErr <- rc.EachConn(func(c record.Conn) error { b.cs.add(c); return nil }) }()
	serr := r.EachSample(func(s record.Sample) error { b.tl.add(s); return nil })
	cerr := <-connErr
	r.Warnings = append(r.Warnings, rc.Warnings...)
	// A run directory is untrusted input (a CI artifact, a baseline): a
	// file that cannot be read (a symlink out of it, a read error) loses
	// what it holds, named in the report, and the rest is still built.
	var lost []string
	if serr != nil {
		lost = append(lost, fmt.Sprintf("%s could not be read (%v): sample figures and plots are missing or partial", record.SamplesFile, serr))
	}
	if cerr != nil {
		lost = append(lost, fmt.Sprintf("%s could not be read (%v): connection figures are missing or partial", record.ConnsFile, cerr))
	}
	if b.prs, err = r.PhaseResults(); err != nil {
		lost = append(lost, fmt.Sprintf("the phases' load results could not be read (%v): load figures are missing", err))
	}
	if verr != nil {
		// Never a pass: the verdict is there, and nobody can tell what it said.
		why := fmt.Sprintf("%s could not be read (%v): the run's verdict is unknown; `soak report --recheck` judges it again", record.VerdictFile, verr)
		b.verdict = &record.Verdict{Status: record.StatusError, RunEnded: r.Meta.Ended, Cause: why}
		lost = append(lost, why)
	}
	b.sum = summarize(r, b.tl, b.cs, b.prs, b.verdict)
	b.sum.Notes = append(b.sum.Notes, lost...)
	return b, nil
}

// pngDPI is the resolution of the PNG plots. Tests lower it (TestMain):
// under -race, rasterizing and deflating a full-size plot costs ~10x, and a
// report build ~8 CPU seconds, most of this package's test time.
var pngDPI = vgimg.DefaultDPI

// pngCompression is the PNG plots' compression level. Tests turn it off
// (TestMain): under -race, deflate is a fifth of a report build.
var pngCompression = png.DefaultCompression

// pngCanvas is vgimg.PngCanvas at the compression level pngCompression.
type pngCanvas struct{ *vgimg.Canvas }

// WriteTo implements io.WriterTo.
func (c pngCanvas) WriteTo(w io.Writer) (int64, error) {
	var buf bytes.Buffer
	if err := (&png.Encoder{CompressionLevel: pngCompression}).Encode(&buf, c.Image()); err != nil {
		return 0, err
	}
	return buf.WriteTo(w)
}

// renderGrid draws a grid of panels on one PNG or SVG canvas. A figure of
// one column gets its legends in a strip to the right of the data, level
// with their panels, so no legend covers a line and no axis is stretched
// to make room for one.
func renderGrid(rows [][]*panel, w, h vg.Length, format string) ([]byte, error) {
	var c vg.CanvasWriterTo
	switch format {
	case "png":
		c = pngCanvas{vgimg.NewWith(vgimg.UseWH(w, h), vgimg.UseDPI(pngDPI))}
	case "svg":
		c = vgsvg.New(w, h)
	default:
		return nil, fmt.Errorf("unknown plot format %q", format)
	}
	dc := draw.New(c)
	grid := make([][]*plot.Plot, len(rows))
	cols := 0
	for i, row := range rows {
		cols = max(cols, len(row))
		for _, pn := range row {
			grid[i] = append(grid[i], pn.p)
		}
	}
	side := sideLegends(rows)
	var strip vg.Length
	legends := make([]plot.Legend, len(rows))
	if side {
		for i, row := range rows {
			pn := row[0]
			if pn.legend == 0 {
				continue
			}
			legends[i] = pn.p.Legend
			strip = max(strip, pn.p.Legend.Rectangle(dc).Size().X+vg.Points(12))
			// Drawn in the strip, not over the data; put back for the
			// next format.
			pn.p.Legend = plot.NewLegend()
			defer func() { pn.p.Legend = legends[i] }()
		}
	}
	plotC := draw.Crop(dc, 0, -strip, 0, 0)
	t := draw.Tiles{Rows: len(grid), Cols: cols, PadX: vg.Millimeter * 6, PadY: vg.Millimeter * 6,
		PadTop: vg.Millimeter * 2, PadBottom: vg.Millimeter * 2, PadLeft: vg.Millimeter * 2, PadRight: vg.Millimeter * 2}
	canvases := plot.Align(grid, t, plotC)
	for r := range grid {
		for col, p := range grid[r] {
			if p != nil {
				p.Draw(canvases[r][col])
			}
		}
		if side && rows[r][0].legend > 0 {
			lg := legends[r]
			tile := canvases[r][0]
			sc := draw.Crop(dc, dc.Size().X-strip, 0, tile.Min.Y-dc.Min.Y, tile.Max.Y-dc.Max.Y)
			lg.Top, lg.Left, lg.XOffs, lg.YOffs = true, true, vg.Points(4), -vg.Points(22)
			lg.Draw(sc)
		}
	}
	var buf bytes.Buffer
	if _, err := c.WriteTo(&buf); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// sideLegends says whether a figure's legends go to the right of its
// panels: figures of one column.
func sideLegends(rows [][]*panel) bool {
	for _, row := range rows {
		if len(row) != 1 {
			return false
		}
	}
	return len(rows) > 0
}
