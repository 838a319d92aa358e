package main

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/soak-dev/soak/record"
	"github.com/soak-dev/soak/reports"
	"github.com/soak-dev/soak/runner"
)

func init() { subcommands = append(subcommands, newCompareCmd) }

// compareOpts are the flags of soak compare.
type compareOpts struct {
	baseline string
	out      string
	failOn   []string
	force    bool
	json     bool
}

func newCompareCmd() *cobra.Command {
	var o compareOpts
	cmd := &cobra.Command{
		Use:   "compare RUN_A RUN_B | --baseline DIR RUN",
		Short: "Compare two runs: overlaid plots, headline figures side by side, regression rules",
		Long: `Compare run B with run A (the baseline): write compare.html with A and B overlaid
on one time axis (aligned by phase start) and a table of headline figures with
the change, and each check's result in A and B.

--baseline DIR takes A from DIR: a run directory, or a directory of runs (the
latest run of B's scenario is used).

--fail-on rules make CI fail on a regression (exit 1):
  FIGURE:+N      the figure may grow by at most N (its own unit)
  FIGURE:+N%     ... by at most N percent of A
  FIGURE:+1s     for time figures (*.max_idle, *.reclaimed_after* in s, load.p50/p99 in ms)
  FIGURE:-N%     the figure may drop by at most N percent (e.g. load.rate)
  any-check-regressed   a check that did not fail in A fails in B
Where both runs ran 2 or more cycles (scenario cycles:), a change within the
cycle-to-cycle spread is noise and trips no rule; otherwise there is no noise
estimate and a rule is judged as written. Figures are named in summary.json "figures".

Exit codes: 0 no rule tripped, 1 a rule tripped, 2 usage error or the runs
are not comparable (different scenarios; --force compares anyway).`,
		Example: `  soak compare runs/A runs/B
  soak compare --baseline runs/ runs/B --fail-on any-check-regressed --fail-on goroutines.peak:+10%
  soak compare runs/A runs/B --fail-on backend.max_idle:+1s --json`,
		Args:              cobra.RangeArgs(1, 2),
		ValidArgsFunction: completeRunDirs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runCompare(cmd, args, o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.baseline, "baseline", "", "run A: a run directory or a directory of runs (the latest of B's scenario)")
	f.StringVar(&o.out, "out", "", "directory for compare.html and plots (default RUN_B/compare-<A>)")
	f.StringArrayVar(&o.failOn, "fail-on", nil, "regression rule, e.g. goroutines.peak:+10% (repeatable)")
	f.BoolVar(&o.force, "force", false, "compare runs of different scenarios anyway")
	f.BoolVar(&o.json, "json", false, "print the comparison as JSON")
	return cmd
}

func runCompare(cmd *cobra.Command, args []string, o compareOpts) error {
	var a, b string
	switch {
	case o.baseline != "" && len(args) == 1:
		b = args[0]
		rb, err := record.Open(b)
		if err != nil {
			return withCode(runner.ExitUsage, err)
		}
		if a, err = reports.FindBaseline(o.baseline, rb.Meta.Scenario, b); err != nil {
			return withCode(runner.ExitUsage, err)
		}
	case o.baseline == "" && len(args) == 2:
		a, b = args[0], args[1]
	default:
		return withCode(runner.ExitUsage, errors.New("give RUN_A RUN_B, or --baseline DIR and one RUN"))
	}
	opts := reports.CompareOptions{Out: o.out, Force: o.force}
	for _, s := range o.failOn {
		r, err := reports.ParseRule(s)
		if err != nil {
			return withCode(runner.ExitUsage, err)
		}
		opts.FailOn = append(opts.FailOn, r)
	}
	c, err := reports.Compare(a, b, opts)
	switch {
	case errors.Is(err, reports.ErrNotComparable), errors.Is(err, reports.ErrUnknownFigure), errors.Is(err, record.ErrNotRun):
		return withCode(runner.ExitUsage, err)
	case err != nil:
		return withCode(runner.ExitEnvironment, err)
	}
	if o.json {
		enc := json.NewEncoder(cmd.OutOrStdout())
		enc.SetIndent("", "  ")
		if err := enc.Encode(c); err != nil {
			return withCode(runner.ExitEnvironment, err)
		}
	} else {
		fmt.Fprintln(cmd.OutOrStdout(), c.HTML)
		fmt.Fprint(cmd.OutOrStdout(), "\n"+c.Table())
	}
	if c.Tripped > 0 {
		return withCode(runner.ExitCheckFailed, fmt.Errorf("%d of %d fail-on rules tripped", c.Tripped, len(c.Rules)))
	}
	return nil
}
