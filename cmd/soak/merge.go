package main

import (
	"errors"
	"fmt"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/soak-dev/soak/merge"
	"github.com/soak-dev/soak/record"
	"github.com/soak-dev/soak/runner"
)

func init() { subcommands = append(subcommands, newMergeCmd) }

func newMergeCmd() *cobra.Command {
	var out string
	cmd := &cobra.Command{
		Use:   "merge SHARD_RUN_DIR...",
		Short: "Join the run directories of a sharded run (soak run --shard I/N) into one",
		Long: `merge joins the run directories of the N shards of one run (soak run
--shard I/N, each shard once) into a new run directory that soak report and
soak compare read like any other: every phase's load summed (requests,
status codes, errors, connections, per-target counts; rate and latency
percentiles recomputed from the shards' vegeta results), the client
ledgers joined, and each node's samples and kernel ledgers taken from the
first shard that probed it (every shard probes the same SUT). Shards of
different scenarios, or that started SUTs of their own, are refused.
The merged directory has no verdict yet: soak report judges it.`,
		Example: `  soak merge runs/20261130-120000_quick runs/20261130-120001_quick -o runs/quick-merged
  soak report runs/quick-merged`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if out == "" {
				out = filepath.Join(filepath.Dir(filepath.Clean(args[0])), filepath.Base(filepath.Clean(args[0]))+"_merged")
			}
			meta, err := merge.Runs(args, out)
			switch {
			case errors.Is(err, merge.ErrMismatch), errors.Is(err, record.ErrNotRun):
				return withCode(runner.ExitUsage, err)
			case err != nil:
				return withCode(runner.ExitEnvironment, err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "merged %d shards of %s into %s\n", len(meta.Shards), meta.Scenario, out)
			return nil
		},
	}
	cmd.Flags().StringVarP(&out, "out", "o", "", "the merged run directory, new or empty (default: the first shard's directory + _merged)")
	return cmd
}
