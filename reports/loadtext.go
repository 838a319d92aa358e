package reports

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/soak-dev/soak/record"
)

// loadRow is one phase of the end-of-run load summary, every cell as text.
type loadRow struct {
	Phase, Kind, Requests, Planned, Rate, Success, P50, P99, Max, Errors string
}

// loadColumns heads the load summary's columns.
var loadColumns = []string{"phase", "kind", "requests", "planned", "rate/s", "success", "p50 ms", "p99 ms", "max ms", "errors"}

func (r loadRow) cells() []string {
	return []string{r.Phase, r.Kind, r.Requests, r.Planned, r.Rate, r.Success, r.P50, r.P99, r.Max, r.Errors}
}

// loadRows turns phase results into the rows of the load summary, in the
// order the phases ran, with a total row last. A phase that sent no
// request says so instead of "0.00% success".
func loadRows(prs []record.PhaseResult) []loadRow {
	prs = slices.Clone(prs)
	sort.SliceStable(prs, func(i, j int) bool { return prs[i].Start.Before(prs[j].Start) })
	var rows []loadRow
	for _, p := range prs {
		r := loadRow{Phase: p.Phase, Kind: p.Kind, Requests: strconv.FormatUint(p.Requests, 10), Planned: "-",
			Rate: "-", Success: "no requests", P50: "-", P99: "-", Max: "-", Errors: errorsText(p.Errors)}
		if p.PlannedRequests > 0 {
			r.Planned = strconv.FormatFloat(math.Round(p.PlannedRequests), 'f', -1, 64)
		}
		if p.Requests > 0 {
			r.Success = pctText(phaseSuccess(p))
			if d := p.End.Sub(p.Start).Seconds(); d > 0 {
				r.Rate = strconv.FormatFloat(float64(p.Requests)/d, 'f', 1, 64)
			}
			if p.LatencyP50 > 0 || p.LatencyMax > 0 {
				r.P50, r.P99, r.Max = msText(p.LatencyP50), msText(p.LatencyP99), msText(p.LatencyMax)
			}
		}
		rows = append(rows, r)
	}
	if len(rows) == 0 {
		return nil
	}
	all := summarizeLoad(prs)
	tot := loadRow{Phase: "all", Requests: strconv.FormatUint(all.Requests, 10), Planned: "-", Rate: "-",
		Success: "no requests", P50: "-", P99: "-", Max: "-", Errors: errorsText(all.Errors)}
	var planned float64
	for _, p := range prs {
		planned += p.PlannedRequests
	}
	if planned > 0 {
		tot.Planned = strconv.FormatFloat(math.Round(planned), 'f', -1, 64)
	}
	if all.Requests > 0 {
		tot.Success, tot.Rate = pctText(1-all.ErrorRate), strconv.FormatFloat(all.Rate, 'f', 1, 64)
		if all.P50Ms > 0 {
			tot.P50, tot.P99 = msText(all.P50Ms), msText(all.P99Ms)
		}
	}
	return append(rows, tot)
}

func errorsText(errs map[string]int) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(errs)) {
		parts = append(parts, fmt.Sprintf("%s %d", k, errs[k]))
	}
	if len(parts) == 0 {
		return "-"
	}
	return strings.Join(parts, ", ")
}

// pctText writes a success ratio as a percentage that never rounds a
// failure away: 0.99996 is "99.99%", not "100.00%".
func pctText(r float64) string {
	p := math.Floor(r*10000) / 100
	return strconv.FormatFloat(p, 'f', 2, 64) + "%"
}

// LoadText is the end-of-run load summary of the run in dir, one line per
// phase (requests, planned, achieved rate, success, p50/p99/max latency,
// errors) and a total, as soak run prints it: vegeta's text report and
// k6's end-of-test summary, per phase. "" when no phase left results.
func LoadText(dir string) (string, error) {
	r := &record.Run{Dir: dir}
	defer r.Close()
	prs, err := r.PhaseResults()
	if err != nil {
		return "", err
	}
	return loadTable(prs), nil
}

func loadTable(prs []record.PhaseResult) string {
	rows := loadRows(prs)
	if rows == nil {
		return ""
	}
	// Names left, numbers right, as vegeta's and k6's reports do.
	all := [][]string{loadColumns}
	for _, r := range rows {
		all = append(all, r.cells())
	}
	width := make([]int, len(loadColumns))
	for _, cells := range all {
		for i, c := range cells {
			width[i] = max(width[i], utf8.RuneCountInString(c))
		}
	}
	var b strings.Builder
	for _, cells := range all {
		var line strings.Builder
		for i, c := range cells {
			pad := strings.Repeat(" ", width[i]-utf8.RuneCountInString(c))
			switch {
			case i < 2 || i == len(cells)-1:
				line.WriteString(c + pad)
			default:
				line.WriteString(pad + c)
			}
			line.WriteString("  ")
		}
		b.WriteString(strings.TrimRight(line.String(), " ") + "\n")
	}
	return b.String()
}

// loadMarkdown is the load summary as a Markdown table (summary.md).
func loadMarkdown(prs []record.PhaseResult) string {
	rows := loadRows(prs)
	if rows == nil {
		return ""
	}
	var b strings.Builder
	b.WriteString("\n### Load\n\n| " + strings.Join(loadColumns, " | ") + " |\n|---|---|" + strings.Repeat("---:|", len(loadColumns)-3) + "---|\n")
	for _, r := range rows {
		cells := r.cells()
		for i := range cells {
			cells[i] = cell(cells[i])
		}
		b.WriteString("| " + strings.Join(cells, " | ") + " |\n")
	}
	return b.String()
}

// plainNum writes a number without an exponent: whole numbers as they
// are, others to 4 significant digits ("10050", "4.016", "0.00123").
func plainNum(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return strconv.FormatFloat(v, 'f', -1, 64)
	}
	if v == math.Trunc(v) && math.Abs(v) < 1e15 {
		return strconv.FormatFloat(v, 'f', 0, 64)
	}
	if math.Abs(v) >= 1000 {
		return strconv.FormatFloat(math.Round(v), 'f', 0, 64)
	}
	r, _ := strconv.ParseFloat(strconv.FormatFloat(v, 'g', 4, 64), 64)
	return strconv.FormatFloat(r, 'f', -1, 64)
}

// msText writes a latency in ms to a tenth (to a hundredth under 10 ms).
func msText(ms float64) string {
	if ms < 10 {
		return strconv.FormatFloat(ms, 'f', 2, 64)
	}
	return strconv.FormatFloat(ms, 'f', 1, 64)
}
