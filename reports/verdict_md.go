package reports

import (
	"fmt"
	"strings"

	"github.com/soak-dev/soak/record"
)

// VerdictMarkdown renders the verdict as Markdown (summary.md) for a PR comment or a chat: the
// overall status and a table of checks, failures first.
func VerdictMarkdown(v record.Verdict) string {
	var b strings.Builder
	counts := map[string]int{}
	for _, c := range v.Checks {
		counts[c.Status]++
	}
	fmt.Fprintf(&b, "## soak verdict: %s %s\n\n", mark(v.Status), cell(strings.ToUpper(v.Status)))
	fmt.Fprintf(&b, "%d checks: %d failed, %d inconclusive, %d passed", len(v.Checks),
		counts[record.StatusFail], counts[record.StatusInconclusive], counts[record.StatusPass])
	if v.RunEnded != "" && v.RunEnded != record.EndedCompleted {
		fmt.Fprintf(&b, " (the run ended %s)", cell(v.RunEnded))
	}
	if v.Cause != "" {
		fmt.Fprintf(&b, "\n\n**%s**: %s", v.Status, cell(v.Cause))
	}
	b.WriteString("\n\n| | check | value | limit | node | layer | message |\n|---|---|---|---|---|---|---|\n")
	for _, status := range []string{record.StatusFail, record.StatusInconclusive, record.StatusPass} {
		for _, c := range v.Checks {
			if c.Status != status {
				continue
			}
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s |\n", mark(c.Status), cell(c.Name),
				num(c.Value, c.Unit), num(c.Limit, c.Unit), cell(c.Node), cell(c.Layer), cell(c.Message))
		}
	}
	b.WriteString(reclaimedTable(v))
	return b.String()
}

func mark(status string) string {
	switch status {
	case record.StatusPass:
		return "✅"
	case record.StatusFail:
		return "❌"
	}
	return "⚠️"
}

// cell escapes text for a Markdown table cell. Names and messages come
// from the scenario and the SUT, and Markdown renderers pass HTML through,
// so <, > and & are written as entities.
func cell(s string) string { return cellEscaper.Replace(s) }

var cellEscaper = strings.NewReplacer("|", `\|`, "\n", " ", "\r", " ", "&", "&amp;", "<", "&lt;", ">", "&gt;")

// reclaimedTable is the summary.md section of effective idle timeouts:
// one row per layer and witness.
func reclaimedTable(v record.Verdict) string {
	var b strings.Builder
	for _, c := range v.Checks {
		for _, x := range c.Reclaimed {
			if b.Len() == 0 {
				b.WriteString("\n### Effective idle timeouts\n\n| layer | witness | reclaimed after (median) | p90 | max | closed by the SUT | lower bound |\n|---|---|---|---|---|---|---|\n")
			}
			med, p90, mx := "-", "-", "-"
			if x.Measured() {
				med, p90, mx = fmt.Sprintf("%.1f s", x.MedianS), fmt.Sprintf("%.1f s", x.P90S), fmt.Sprintf("%.1f s", x.MaxS)
			}
			lb := "-"
			if x.LowerBoundCount > 0 {
				lb = fmt.Sprintf(">= %.1f s, %s (%d)", x.LowerBoundS, x.LowerBoundWhy, x.LowerBoundCount)
			}
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %d | %s |\n", cell(x.Layer), cell(x.Witness), med, p90, mx, x.Count, cell(lb))
		}
	}
	return b.String()
}

// WriteVerdict writes the verdict's renderings into the run directory:
// junit.xml for CI and summary.md for a PR comment (verdict.json itself is
// written by record.Run.WriteVerdict).
func WriteVerdict(run *record.Run, v record.Verdict) error {
	junit, err := JUnit(v)
	if err != nil {
		return fmt.Errorf("write junit: %w", err)
	}
	if err := run.WriteFile(junit, record.JUnitFile); err != nil {
		return fmt.Errorf("write junit: %w", err)
	}
	// The load each phase got, as soak run prints it; a run whose load
	// results cannot be read still gets its verdict.
	prs, _ := run.PhaseResults()
	md := summaryMarkdown(v, prs) + latenessMarkdown(run.Meta.TimerLateness)
	if err := run.WriteFile([]byte(md), record.SummaryMD); err != nil {
		return fmt.Errorf("write summary.md: %w", err)
	}
	return nil
}

// summaryMarkdown is summary.md: the verdict, then the load per phase.
func summaryMarkdown(v record.Verdict, prs []record.PhaseResult) string {
	return VerdictMarkdown(v) + loadMarkdown(prs)
}

// latenessMarkdown is summary.md's line on the machine's timer lateness
// (meta.json timer_lateness): a reader of a reclaim verdict sees how late
// timers fired on the machine, which the default tolerance includes.
func latenessMarkdown(t *record.TimerLateness) string {
	if t == nil {
		return "\ntimer lateness: " + LatenessText(t) + "\n"
	}
	return "\n" + LatenessText(t) + "\n"
}

// LatenessText says how late timers fired during the run, e.g. "timers
// were up to 830 ms late (p50 2 ms, p99 400 ms; 36000 wake-ups, one every
// 50 ms)"; a run without the figure says it was not measured.
func LatenessText(t *record.TimerLateness) string {
	if t == nil {
		return "not measured (a run recorded before soak measured it, or killed)"
	}
	return fmt.Sprintf("timers were up to %g ms late (p50 %g ms, p99 %g ms; %d wake-ups, one every %d ms)",
		t.MaxMs, t.P50Ms, t.P99Ms, t.Samples, t.StepMs)
}
