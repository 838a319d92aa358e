package main

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/soak-dev/soak/record"
	"github.com/soak-dev/soak/reports"
	"github.com/soak-dev/soak/runner"
)

// printResult prints the verdict of a run: a table for people, or one JSON line.
func printResult(cmd *cobra.Command, res runner.Result, asJSON bool) {
	out := cmd.OutOrStdout()
	if asJSON {
		b, _ := json.Marshal(map[string]any{"dir": res.Dir, "exit_code": res.ExitCode, "ended": res.Ended,
			"cause": res.Cause, "verdict": res.Verdict.Status, "report": res.ReportPath, "checks": res.Verdict.Checks,
			"setup_failed": res.SetupFailed, "lost": res.Lost})
		fmt.Fprintf(out, "%s\n", b)
		return
	}
	fmt.Fprintln(out)
	status := res.Verdict.Status
	if status == "" {
		status = "none"
	}
	if res.SetupFailed {
		// Say one thing: the cause. No check had a chance to run.
		fmt.Fprintf(out, "setup failed: %s\n", res.Cause)
		fmt.Fprintf(out, "verdict: error (exit %d)\n", res.ExitCode)
		fmt.Fprintf(out, "run dir: %s\n", res.Dir)
		return
	}
	if res.Ended != record.EndedCompleted {
		fmt.Fprintf(out, "run %s: %s\n", res.Ended, res.Cause)
	}
	// The load each phase got (vegeta's text report, k6's end-of-test
	// summary), before the checks that judge the server under it.
	if t, err := reports.LoadText(res.Dir); err == nil && t != "" {
		fmt.Fprintf(out, "load:\n%s\n", indent(t, "  "))
	}
	for _, c := range res.Verdict.Checks {
		fmt.Fprintf(out, "  %-13s %-32s %s\n", mark(c.Status), c.Name, c.Message)
	}
	for _, l := range res.Lost {
		fmt.Fprintf(out, "  %-13s %s\n", "LOST", l)
	}
	switch {
	case len(res.Lost) > 0:
		fmt.Fprintf(out, "verdict: error (exit %d): the run lost data it needed: %s\n", res.ExitCode, missing(res.Lost))
	default:
		fmt.Fprintf(out, "verdict: %s (exit %d)\n", status, res.ExitCode)
	}
	if res.ReportPath != "" {
		fmt.Fprintf(out, "report:  %s\n", res.ReportPath)
	}
	fmt.Fprintf(out, "run dir: %s\n", res.Dir)
}

// indent puts prefix before every line of s.
func indent(s, prefix string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(prefix+l, " ")
	}
	return strings.Join(lines, "\n")
}

// missing names what each lost line lost: the part before its first colon
// ("samples.jsonl", "meta.json", "report").
func missing(lost []string) string {
	var names []string
	for _, l := range lost {
		name, _, _ := strings.Cut(l, ":")
		if base := filepath.Base(strings.TrimPrefix(name, "write ")); base != "" && !slices.Contains(names, base) {
			names = append(names, base)
		}
	}
	return strings.Join(names, ", ")
}

func mark(status string) string {
	switch status {
	case record.StatusPass:
		return "PASS"
	case record.StatusFail:
		return "FAIL"
	}
	return "INCONCLUSIVE"
}
