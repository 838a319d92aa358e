package main

import (
	"errors"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/soak-dev/soak/probes"
	"github.com/soak-dev/soak/runner"
	"github.com/spf13/cobra"
)

func init() { subcommands = append(subcommands, newProbeCmd) }

type probeOpts struct {
	pid      int
	node     string
	pprof    string
	metrics  string
	layers   []string
	interval time.Duration
	timeout  time.Duration
	once     bool
	json     bool
	count    int
	proc     bool
}

func newProbeCmd() *cobra.Command {
	var o probeOpts
	cmd := &cobra.Command{
		Use:   "probe --pid N",
		Short: "Watch one process's connections, goroutines and FDs, like top",
		Long: `probe samples one running process every interval, without a scenario:
TCP sockets per layer (established, idle, idle age max/p99 from the kernel's
tcp_info, TIME_WAIT, CLOSE_WAIT and its age), goroutines by class (from the
pprof endpoint, else go_goroutines from metrics, else OS threads), file
descriptors by type, RSS, CPU and threads.

A layer rule names sockets by port: name=local:PORT[,PORT] for connections
accepted on a listen port, name=remote:PORT[,PORT] for connections dialled to
a port, or both joined with ';'. The first rule that matches wins; other
sockets are shown as "other".`,
		Example: `  soak probe --pid 4242
  soak probe --pid 4242 --pprof http://127.0.0.1:8080/debug/pprof/goroutine?debug=1 \
      --layer client=local:8080 --layer backend=remote:9000,9001
  soak probe --pid 4242 --once --json | jq .sockets
  soak probe --pid 4242 --interval 5s --count 12`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runProbe(cmd, o) },
	}
	f := cmd.Flags()
	f.IntVar(&o.pid, "pid", 0, "process to probe (required)")
	f.StringVar(&o.node, "node", "", "node name in the output (default: the pid)")
	f.StringVar(&o.pprof, "pprof", "", "goroutine profile URL (.../debug/pprof/goroutine?debug=1)")
	f.StringVar(&o.metrics, "metrics", "", "Prometheus metrics URL, for go_goroutines when pprof is absent or fails")
	f.StringArrayVar(&o.layers, "layer", nil, "layer rule name=local:PORT[,PORT] or name=remote:PORT[,PORT] (repeatable)")
	f.DurationVar(&o.interval, "interval", probes.DefaultInterval, "time between samples")
	f.DurationVar(&o.timeout, "timeout", probes.DefaultFetchTimeout, "bound of each pprof or metrics fetch")
	f.BoolVar(&o.once, "once", false, "take one sample and exit")
	f.BoolVar(&o.json, "json", false, "print samples as JSON lines (the samples.jsonl format)")
	f.IntVar(&o.count, "count", 0, "take N samples and exit (0: until interrupted or the process exits)")
	f.BoolVar(&o.proc, "proc", false, "read /proc only: /proc/PID/net/tcp instead of sock_diag (idle ages estimated), /proc/PID/fd instead of the BPF fd iterator")
	return cmd
}

func runProbe(cmd *cobra.Command, o probeOpts) error {
	if o.pid <= 0 {
		return withCode(runner.ExitUsage, errors.New("probe: --pid is required"))
	}
	t := probes.Target{Node: o.node, PID: o.pid, GoroutinesURL: o.pprof, MetricsURL: o.metrics}
	for _, l := range o.layers {
		r, err := probes.ParseLayerRule(l)
		if err != nil {
			return withCode(runner.ExitUsage, err)
		}
		t.Layers = append(t.Layers, r)
	}
	w := probes.WatchOptions{Interval: o.interval, Count: o.count, JSON: o.json}
	if o.once {
		w.Count = 1
	}
	opts := []probes.Option{probes.FetchTimeout(o.timeout)}
	if o.proc {
		opts = append(opts, probes.ForceProc())
	}
	ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := probes.Watch(ctx, t, w, cmd.OutOrStdout(), opts...)
	switch {
	case err != nil:
		return withCode(runner.ExitEnvironment, err)
	case ctx.Err() != nil:
		return withCode(runner.ExitInterrupted, nil)
	}
	return nil
}
