package main

import (
	"encoding/json"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/soak-dev/soak/record"
	"github.com/soak-dev/soak/runner"
)

// printResult prints the verdict of a run: a table for people, or one JSON line.
func printResult(cmd *cobra.Command, res runner.Result, asJSON bool) {
	out := cmd.OutOrStdout()
	if asJSON {
		b, _ := json.Marshal(map[string]any{"dir": res.Dir, "exit_code": res.ExitCode, "ended": res.Ended,
			"cause": res.Cause, "verdict": res.Verdict.Status, "report": res.ReportPath, "checks": res.Verdict.Checks})
		fmt.Fprintf(out, "%s\n", b)
		return
	}
	fmt.Fprintln(out)
	if res.Ended != record.EndedCompleted {
		fmt.Fprintf(out, "run %s: %s\n", res.Ended, res.Cause)
	}
	for _, c := range res.Verdict.Checks {
		fmt.Fprintf(out, "  %-13s %-32s %s\n", mark(c.Status), c.Name, c.Message)
	}
	status := res.Verdict.Status
	if status == "" {
		status = "none"
	}
	fmt.Fprintf(out, "verdict: %s (exit %d)\n", status, res.ExitCode)
	if res.ReportPath != "" {
		fmt.Fprintf(out, "report:  %s\n", res.ReportPath)
	}
	fmt.Fprintf(out, "run dir: %s\n", res.Dir)
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
