package reports

import (
	"bytes"
	"embed"
	"encoding/base64"
	"fmt"
	"html/template"
	"io"
	"maps"
	"math"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/soak-dev/soak/reclaimed"
	"github.com/soak-dev/soak/record"
)

//go:embed templates/*.tmpl
var templateFS embed.FS

// LogTailLines is how many last lines of each node log the report shows.
const LogTailLines = 60

// templates are parsed once; html/template escapes every SUT-sourced string
// (log lines, commands, URLs, check messages) by context.
var templates = template.Must(template.New("").Funcs(template.FuncMap{
	"num":   formatNum,
	"dur":   formatDur,
	"bytes": formatBytes,
	"pct":   func(f float64) string { return fmt.Sprintf("%.2f%%", f*100) },
	"join":  strings.Join,
	// redact hides the values of secret-named flags and variables in argv.
	"redact": redactArgv,
	"png": func(b []byte) template.URL {
		return template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(b))
	},
	"statusClass": statusClass,
	"reclaimText": reclaimed.Text,
	"orDash":      orDash,
	"success":     phaseSuccess,
	"lateness":    LatenessText,
}).ParseFS(templateFS, "templates/*.tmpl"))

func statusClass(s string) string {
	switch s {
	case record.StatusPass, record.EndedCompleted:
		return "pass"
	case record.StatusFail, record.EndedKilled, record.EndedSUTFailed, record.EndedError:
		return "fail"
	default:
		return "warn"
	}
}

// reportPage is what templates/report.html.tmpl renders.
type reportPage struct {
	Title    string
	Meta     record.Meta
	Summary  *Summary
	Verdict  *record.Verdict
	Phases   []phaseBar
	Plots    []plotFile
	Logs     []logTail
	Nodes    []nodeFacts
	Notes    []string
	Warnings []string
	Layers   []string
	Built    time.Time
	// Load is the load per phase, as soak run prints it.
	Load []loadRow
	// Reclaim is each layer's reclaim check status: a value is shown as
	// failing only where its check failed.
	Reclaim map[string]string
}

// Since writes a moment of the run the way the plots' time axis does
// (time since the start, in the plots' unit), with the wall clock after it.
func (pg reportPage) Since(t time.Time) string {
	end := pg.Meta.End
	if end.IsZero() {
		end = t
	}
	u := unitFor(end.Sub(pg.Meta.Start).Seconds())
	return fmt.Sprintf("+%s %s (%s)", plainNum(math.Round(t.Sub(pg.Meta.Start).Seconds()/u.div*10)/10), u.name, t.Format("15:04:05"))
}

// plusSign writes v to a tenth with its sign: "+3.5", "-12", "0".
func plusSign(v float64) string {
	v = math.Round(v*10) / 10
	if v > 0 {
		return "+" + plainNum(v)
	}
	return plainNum(v)
}

// Slope writes a node's goroutine trend for the run's length: per hour
// only for runs of an hour or more; a shorter run gets the change over the
// run (the slope times its length), and a run under a minute no trend.
func (pg reportPage) Slope(perHour float64) string {
	span := pg.Meta.End.Sub(pg.Meta.Start)
	switch {
	case span < time.Minute:
		return "run too short for a trend"
	case span < time.Hour:
		return fmt.Sprintf("%s goroutines over %s", plusSign(perHour*span.Hours()), formatDur(span))
	default:
		return plusSign(perHour) + " goroutines per hour"
	}
}

type phaseBar struct {
	Name, Kind         string
	Left, Width        float64 // percent of the run
	Offset, Duration   time.Duration
	Planned            time.Duration
	Unfinished, Shaded bool
}

type logTail struct {
	Node, Path string
	Lines      []string
	Truncated  bool
	Err        string
}

type nodeFacts struct {
	Name string
	record.NodeMeta
	Summary NodeSummary
}

func (b *builder) renderHTML() ([]byte, error) {
	m := b.run.Meta
	pg := reportPage{Title: "soak report: " + filepath.Base(b.run.Dir), Meta: m, Summary: b.sum, Verdict: b.verdict,
		Plots: b.plots, Notes: append(append([]string(nil), b.sum.Notes...), b.notes...),
		Warnings: b.run.Warnings, Layers: slices.Sorted(maps.Keys(b.sum.Layers)), Built: time.Now(),
		Load: loadRows(b.prs), Reclaim: map[string]string{}}
	for _, l := range pg.Layers {
		if c, ok := b.reclaimCheck(l); ok {
			pg.Reclaim[l] = c.Status
		}
	}
	span := b.spanS
	for i, p := range m.Phases {
		bar := phaseBar{Name: p.Name, Kind: p.Kind, Offset: p.Start.Sub(m.Start), Planned: time.Duration(p.PlannedMs) * time.Millisecond, Shaded: i%2 == 0}
		end := p.End
		if end.IsZero() {
			end, bar.Unfinished = m.End, true
		}
		bar.Duration = end.Sub(p.Start)
		if span > 0 {
			bar.Left = clampPct(bar.Offset.Seconds() / span * 100)
			bar.Width = clampPct(bar.Duration.Seconds() / span * 100)
			bar.Width = min(bar.Width, 100-bar.Left)
		}
		pg.Phases = append(pg.Phases, bar)
	}
	for _, n := range slices.Sorted(maps.Keys(m.Nodes)) {
		pg.Nodes = append(pg.Nodes, nodeFacts{Name: n, NodeMeta: m.Nodes[n], Summary: b.sum.Nodes[n]})
		pg.Logs = append(pg.Logs, b.logTail(n, m.Nodes[n]))
	}
	var buf bytes.Buffer
	if err := templates.ExecuteTemplate(&buf, "report.html.tmpl", pg); err != nil {
		return nil, fmt.Errorf("render report: %w", err)
	}
	return buf.Bytes(), nil
}

func clampPct(v float64) float64 { return max(0, min(100, v)) }

// logTail reads the last lines of a node's log without reading all of it.
func (b *builder) logTail(node string, nm record.NodeMeta) logTail {
	rel := nm.Log
	if rel == "" {
		rel = filepath.Join(record.LogsDir, node+".log")
	}
	lt := logTail{Node: node, Path: rel}
	if !filepath.IsLocal(rel) {
		// The report shows what is in the run directory, nothing else on the host.
		lt.Err = "log path is outside the run directory; not shown"
		return lt
	}
	f, err := b.run.OpenFile(rel)
	if err != nil {
		lt.Err = "no log: " + err.Error()
		return lt
	}
	defer f.Close()
	const window = 64 << 10
	st, err := f.Stat()
	if err != nil {
		lt.Err = err.Error()
		return lt
	}
	off := max(st.Size()-window, 0)
	if _, err := f.Seek(off, io.SeekStart); err != nil {
		lt.Err = err.Error()
		return lt
	}
	data, err := io.ReadAll(f)
	if err != nil {
		lt.Err = err.Error()
		return lt
	}
	text := strings.ToValidUTF8(string(data), "\uFFFD")
	lines := strings.Split(strings.TrimRight(text, "\n"), "\n")
	if off > 0 && len(lines) > 0 {
		lines = lines[1:] // the first line is cut
		lt.Truncated = true
	}
	if len(lines) > LogTailLines {
		lines = lines[len(lines)-LogTailLines:]
		lt.Truncated = true
	}
	if len(lines) == 1 && lines[0] == "" {
		lines = nil
	}
	lt.Lines = lines
	return lt
}

func formatNum(v float64) string {
	switch {
	case v == float64(int64(v)) && v < 1e15 && v > -1e15:
		return fmt.Sprintf("%d", int64(v))
	case v >= 100 || v <= -100:
		return fmt.Sprintf("%.0f", v)
	case v >= 1 || v <= -1:
		return fmt.Sprintf("%.2f", v)
	default:
		return plainNum(v)
	}
}

func formatDur(d time.Duration) string {
	if d >= time.Minute {
		return d.Round(time.Second).String()
	}
	return d.Round(time.Millisecond).String()
}

func formatBytes(v float64) string {
	switch {
	case v >= 1<<30:
		return fmt.Sprintf("%.2f GiB", v/(1<<30))
	case v >= 1<<20:
		return fmt.Sprintf("%.1f MiB", v/(1<<20))
	case v >= 1<<10:
		return fmt.Sprintf("%.1f KiB", v/(1<<10))
	}
	return fmt.Sprintf("%.0f B", v)
}

// comparePage is what templates/compare.html.tmpl renders.
type comparePage struct {
	C     *Comparison
	Plots []plotFile
	Built time.Time
	// Rows are the figures shown, in their display units; Hidden counts
	// those left out because they are 0 in both runs.
	Rows   []figureRow
	Hidden int
}

// figureRow is one row of compare.html's figure table, as shown.
type figureRow struct {
	Row
	Unit, A, B, Change, Percent, Noise string
	// Class is "worse", "better" or "" (see changeClass).
	Class string
}

// figureRows turns the comparison's rows into display rows: values in the
// figure's unit (RSS in MiB, error rate in %), signed changes, a percent
// only from a positive baseline, and rows that are 0 in both runs left
// out (counted).
func figureRows(c *Comparison) ([]figureRow, int) {
	var out []figureRow
	hidden := 0
	for _, r := range c.Rows {
		if r.A == 0 && r.B == 0 && !r.MissingA && !r.MissingB {
			hidden++
			continue
		}
		k := kindOf(r.Figure)
		fr := figureRow{Row: r, Unit: k.Unit, A: tableNum(r.A*k.Scale, r.BoundA, r.MissingA),
			B: tableNum(r.B*k.Scale, r.BoundB, r.MissingB)}
		if !r.MissingA && !r.MissingB {
			fr.Change, fr.Class = signed(r.Change*k.Scale), changeClass(r.Figure, r.Change)
		}
		if r.HasPercent && !r.MissingA && !r.MissingB {
			fr.Percent = fmt.Sprintf("%+.1f%%", r.Percent)
		}
		if r.HasNoise {
			fr.Noise = "±" + formatNum(r.Noise*k.Scale)
		}
		if r.HasNoise && r.WithinNoise {
			fr.Class = ""
		}
		out = append(out, fr)
	}
	return out, hidden
}

func renderCompare(c *Comparison, plots []plotFile) ([]byte, error) {
	var buf bytes.Buffer
	rows, hidden := figureRows(c)
	c.Hidden = hidden
	if err := templates.ExecuteTemplate(&buf, "compare.html.tmpl", comparePage{C: c, Plots: plots, Built: time.Now(), Rows: rows, Hidden: hidden}); err != nil {
		return nil, fmt.Errorf("render comparison: %w", err)
	}
	return buf.Bytes(), nil
}
