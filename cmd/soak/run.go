package main

import (
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/soak-dev/soak/isolate"
	"github.com/soak-dev/soak/runner"
	"github.com/soak-dev/soak/scenarios"
)

func init() { subcommands = append(subcommands, newRunCmd) }

type runOpts struct {
	out               string
	name              string
	sets              []string
	durationScale     float64
	quiet             bool
	json              bool
	inconclusiveFails bool
	failFast          bool
	isolate           bool
	shard             string
}

func newRunCmd() *cobra.Command {
	var o runOpts
	cmd := &cobra.Command{
		Use:   "run [SCENARIO.yaml | BUILTIN]",
		Short: "Run a scenario end to end: start the SUT, load it, probe it, check it, report",
		Long: `Run a scenario: allocate ports, start the fake backends and the SUT nodes,
wait for them to be ready, sample them while the load phases run, stop
everything, evaluate the checks and write the report. With no argument it
runs the built-in "quick" scenario (the reference SUT, about 2 minutes).

Everything goes to a new run directory under --out; 'soak report DIR'
rebuilds its report at any time, even for a run that was killed.
Ctrl-C stops the load at once, keeps the data and still writes the report
(exit 130); a second Ctrl-C skips the report.

Built-in scenarios: ` + strings.Join(scenarios.BuiltinNames(), ", ") + `
Exit codes: 0 pass, 1 a check failed, 2 usage or scenario error,
3 the SUT or environment failed or the run lost data it needed (a failed
write, a full disk), 130 interrupted.`,
		Example: `  soak run
  soak run nightly --duration-scale 0.05
  soak run my.yaml --set layers.client.idle_timeout=4s --name pr-1234
  soak run my.yaml --json > progress.jsonl`,
		Args:              cobra.MaximumNArgs(1),
		ValidArgsFunction: completeScenarios,
		RunE: func(cmd *cobra.Command, args []string) error {
			which := "quick"
			if len(args) == 1 {
				which = args[0]
			}
			return runScenario(cmd, which, o)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&o.out, "out", "o", runner.DefaultOutDir, "parent directory of the run directory")
	f.StringVar(&o.name, "name", "", "name of the run (default: the scenario's name)")
	f.StringArrayVar(&o.sets, "set", nil, "override a scenario field, key=value (repeatable), e.g. phases[0].steady.rate=50/s")
	f.Float64Var(&o.durationScale, "duration-scale", 1, "multiply every phase duration, e.g. 0.1 for a quick rehearsal")
	f.BoolVarP(&o.quiet, "quiet", "q", false, "no progress display")
	f.BoolVar(&o.json, "json", false, "progress as JSON lines on stdout, and the result as a JSON line at the end")
	f.BoolVar(&o.isolate, "isolate", false, "run everything in a fresh network namespace (as the scenario's isolate: does)")
	f.BoolVar(&o.inconclusiveFails, "inconclusive-fails", false, "an inconclusive check fails the run (exit 1)")
	f.StringVar(&o.shard, "shard", "", "run shard I of N of the load (I/N, k6's execution segments): this shard's part of every phase's rate and connection counts; N shards together put the whole load, soak merge joins their run directories")
	f.BoolVar(&o.failFast, "fail-fast", false, "stop the run as soon as any check has certainly failed (abort_on_fail on every check): keep the data, write the report, exit 1")
	return cmd
}

func runScenario(cmd *cobra.Command, which string, o runOpts) error {
	if o.durationScale <= 0 {
		return withCode(runner.ExitUsage, fmt.Errorf("--duration-scale must be above 0, not %g", o.durationScale))
	}
	var seg scenarios.Segment
	if o.shard != "" {
		var err error
		if seg, err = scenarios.ParseSegment(o.shard); err != nil {
			return withCode(runner.ExitUsage, fmt.Errorf("--shard: %w", err))
		}
	}
	sc, data, err := scenarios.Load(which, o.sets...)
	if err == nil {
		err = unbuiltBackends(sc)
	}
	if err != nil {
		return withCode(runner.ExitUsage, err)
	}
	if o.isolate && sc.Isolate == nil {
		sc.Isolate = &scenarios.Isolate{}
	}
	if sc.Isolate != nil {
		code, done, err := isolate.Enter(os.Args[1:], sc.Isolate.Loopback)
		if err != nil {
			return withCode(runner.ExitEnvironment, err)
		}
		if done { // the isolated soak ran this command
			return withCode(code, nil)
		}
	}
	self, err := os.Executable()
	if err != nil {
		return withCode(runner.ExitEnvironment, fmt.Errorf("find soak's own path: %w", err))
	}
	runner.Version = soakVersion()
	ctx, skipReport, stop := runner.NotifySignals(cmd.Context(), os.Stderr)
	defer stop()
	mode, progress := "auto", os.Stderr
	switch {
	case o.quiet:
		mode = "quiet"
	case o.json:
		mode, progress = "json", os.Stdout
	}
	res, err := runner.Run(ctx, runner.Options{
		Scenario: sc, ScenarioYAML: data, ScenarioPath: which, OutDir: o.out, Name: o.name,
		DurationScale: o.durationScale, Shard: seg, SoakBinary: self, Progress: progress, ProgressMode: mode,
		Args: os.Args, InconclusiveFails: o.inconclusiveFails, FailFast: o.failFast, SkipReport: skipReport, Log: os.Stderr,
	})
	if err != nil {
		return withCode(runner.ExitEnvironment, err)
	}
	printResult(cmd, res, o.json)
	return withCode(res.ExitCode, nil)
}
