package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/soak-dev/soak/checks"
	"github.com/soak-dev/soak/record"
	"github.com/soak-dev/soak/reports"
	"github.com/soak-dev/soak/runner"
)

func init() { subcommands = append(subcommands, newReportCmd) }

// reportOpts are the flags of soak report.
type reportOpts struct {
	recheck bool
	json    bool
}

func newReportCmd() *cobra.Command {
	var o reportOpts
	cmd := &cobra.Command{
		Use:   "report RUN_DIR",
		Short: "Rebuild the HTML report, plots and summary.json of a run",
		Long: `Rebuild report.html, plots/ and summary.json of any run directory: finished,
interrupted or killed. When the run has no verdict.json (a killed run) or
--recheck is given, the checks are evaluated first from RUN_DIR/scenario.yaml.
Prints the path of report.html (or summary.json with --json).`,
		Example: `  soak report runs/20261124-101500_quick
  soak report --recheck --json runs/20261124-101500_quick`,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: completeRunDirs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runReport(cmd, args[0], o)
		},
	}
	cmd.Flags().BoolVar(&o.recheck, "recheck", false, "evaluate the checks again and rewrite verdict.json")
	cmd.Flags().BoolVar(&o.json, "json", false, "print summary.json instead of the report's path")
	return cmd
}

func runReport(cmd *cobra.Command, dir string, o reportOpts) error {
	// Run directories are untrusted: an unreadable meta.json still leaves
	// a report of the rest (checks are not evaluated without it).
	run, err := record.OpenTolerant(dir)
	if errors.Is(err, record.ErrNotRun) {
		return withCode(runner.ExitUsage, err)
	}
	if err != nil {
		return withCode(runner.ExitEnvironment, err)
	}
	defer run.Close()
	if _, err := run.Stat(record.VerdictFile); o.recheck || errors.Is(err, os.ErrNotExist) {
		if err := recheck(run); err != nil {
			// A report without a verdict is still worth having.
			fmt.Fprintln(cmd.ErrOrStderr(), "soak: checks not evaluated:", err)
		}
	}
	if _, err := run.Verdict(); err != nil {
		// The report is built without it (verdict: error); say so here too,
		// so an exit 0 is not taken for a judged run.
		fmt.Fprintf(cmd.ErrOrStderr(), "soak: %v: the report shows the verdict as error; --recheck judges the run again\n", err)
	}
	if run.MetaErr != nil {
		fmt.Fprintf(cmd.ErrOrStderr(), "soak: %v: the report is built from the other files\n", run.MetaErr)
	}
	out, err := reports.Build(dir)
	if err != nil {
		return withCode(runner.ExitEnvironment, err)
	}
	if o.json {
		b, err := run.ReadFile(record.SummaryJSON)
		if err != nil {
			return withCode(runner.ExitEnvironment, err)
		}
		_, err = cmd.OutOrStdout().Write(b)
		return err
	}
	fmt.Fprintln(cmd.OutOrStdout(), out)
	return nil
}

// recheck evaluates the run's checks against the scenario it ran
// (scenario.yaml, as the runner does) and writes verdict.json, junit.xml
// and summary.md.
func recheck(run *record.Run) error {
	// Options come from meta.json (--inconclusive-fails): the verdict the run reached.
	v, err := checks.Evaluate(run, nil, checks.Options{})
	if err != nil {
		return err
	}
	if err := run.WriteVerdict(v); err != nil {
		return err
	}
	return reports.WriteVerdict(run, v)
}
