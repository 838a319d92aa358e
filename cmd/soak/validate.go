package main

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/soak-dev/soak/fakebackend"
	"github.com/soak-dev/soak/runner"
	"github.com/soak-dev/soak/scenarios"
)

func init() { subcommands = append(subcommands, newValidateCmd) }

func newValidateCmd() *cobra.Command {
	var sets []string
	cmd := &cobra.Command{
		Use:   "validate SCENARIO.yaml...",
		Short: "Parse and check scenario files without running them",
		Long: `Parse and check scenario files: every error of every file is printed as
FILE:LINE:COL: FIELD.PATH: message. Exit 0 when all are valid, 2 otherwise.
Built-in scenario names are accepted too.`,
		Example: `  soak validate my.yaml
  soak validate scenarios/examples/*.yaml
  soak validate quick nightly ab-engines`,
		Args:              cobra.MinimumNArgs(1),
		ValidArgsFunction: completeScenarios,
		RunE: func(cmd *cobra.Command, args []string) error {
			var bad int
			for _, a := range args {
				sc, _, err := scenarios.Load(a, sets...)
				if err != nil {
					bad++
					var es scenarios.Errors
					if errors.As(err, &es) {
						for _, e := range es {
							fmt.Fprintln(cmd.ErrOrStderr(), e)
						}
					} else {
						fmt.Fprintln(cmd.ErrOrStderr(), err)
					}
					continue
				}
				if err := unbuiltBackends(sc); err != nil {
					bad++
					fmt.Fprintf(cmd.ErrOrStderr(), "%s: %v\n", a, err)
					continue
				}
				fmt.Fprintf(cmd.OutOrStdout(), "%s: ok (%s: %s, %s, %s, %s planned)\n", a, sc.Name,
					plural(len(sc.Nodes), "node"), plural(len(sc.Layers), "layer"), plural(len(sc.Phases), "phase"), sc.Planned())
			}
			if bad > 0 {
				return withCode(runner.ExitUsage, fmt.Errorf("%d of %d scenario files invalid", bad, len(args)))
			}
			return nil
		},
	}
	cmd.Flags().StringArrayVar(&sets, "set", nil, "override a field before validating, key=value (repeatable)")
	return cmd
}

// plural says "1 node", "2 nodes".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// unbuiltBackends names a backend whose kind this build of soak cannot
// serve (a gcs backend without -tags gcs), so validate fails before a run.
func unbuiltBackends(sc *scenarios.Scenario) error {
	for _, name := range sc.BackendNames() {
		if err := fakebackend.Unavailable(sc.Backends[name].Kind); err != nil {
			return fmt.Errorf("backends.%s.kind: %w", name, err)
		}
	}
	return nil
}
