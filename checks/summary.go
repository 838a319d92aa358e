package checks

import (
	"fmt"
	"strings"

	"github.com/soak-dev/soak/record"
)

// Summary renders the verdict as Markdown for a PR comment or a chat: the
// overall status and a table of checks, failures first.
func Summary(v record.Verdict) string {
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
