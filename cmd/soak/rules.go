package main

import (
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/soak-dev/soak/rules"
	"github.com/soak-dev/soak/runner"
	"github.com/soak-dev/soak/scenarios"
)

func init() { subcommands = append(subcommands, newRulesCmd) }

type rulesOpts struct {
	sets     []string
	out      string
	window   time.Duration
	eval     time.Duration
	severity string
}

func newRulesCmd() *cobra.Command {
	var o rulesOpts
	cmd := &cobra.Command{
		Use:   "rules SCENARIO.yaml",
		Short: "Write Prometheus alerting and recording rules for a scenario's checks",
		Long: `rules writes a Prometheus rule file that watches the scenario's checks
continuously, over the metrics of soak probe --listen: reclaim (an idle
connection past its layer's timeout + tolerance), close_wait (CLOSE_WAIT
aging), no_growth (deriv over --growth-window), ratio (e.g. goroutines per
idle connection) and max. Checks bound to a run's phases (drain, baseline,
load) have no production equivalent and are listed in a comment. Each node
also gets an alert when it is not exported or a probe fails, so a rule that
matches nothing is not silent. The exporter's node label must be the
scenario's node name (soak probe --listen --node NAME).

Check the result with: promtool check rules FILE.`,
		Example: `  soak rules my.yaml > soak-rules.yml
  soak rules nightly --growth-window 2h -o /etc/prometheus/rules/soak.yml
  soak rules my.yaml --set layers.client.idle_timeout=30s`,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: completeScenarios,
		RunE: func(cmd *cobra.Command, args []string) error {
			sc, _, err := scenarios.Load(args[0], o.sets...)
			if err != nil {
				var es scenarios.Errors
				if errors.As(err, &es) {
					for _, e := range es {
						fmt.Fprintln(cmd.ErrOrStderr(), e)
					}
					return withCode(runner.ExitUsage, fmt.Errorf("%s: invalid scenario", args[0]))
				}
				return withCode(runner.ExitUsage, err)
			}
			f, err := rules.Generate(sc, rules.Options{GrowthWindow: o.window, EvalInterval: o.eval, Severity: o.severity})
			if err != nil {
				return withCode(runner.ExitUsage, err)
			}
			b, err := f.Marshal(args[0])
			if err != nil {
				return withCode(runner.ExitEnvironment, err)
			}
			if o.out == "" || o.out == "-" {
				_, err = cmd.OutOrStdout().Write(b)
			} else {
				err = os.WriteFile(o.out, b, 0o644)
			}
			if err != nil {
				return withCode(runner.ExitEnvironment, fmt.Errorf("rules: write: %w", err))
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringArrayVar(&o.sets, "set", nil, "override a field of the scenario, key=value (repeatable)")
	f.StringVarP(&o.out, "output", "o", "", "write the rules to FILE instead of stdout")
	f.DurationVar(&o.window, "growth-window", rules.DefaultGrowthWindow, "range of deriv() in growth alerts and of min_over_time() in ratio alerts (at least 1m)")
	f.DurationVar(&o.eval, "eval-interval", 0, "the group's evaluation interval (0: Prometheus' global evaluation_interval)")
	f.StringVar(&o.severity, "severity", rules.DefaultSeverity, "severity label of every alert")
	return cmd
}
