package main

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/soak-dev/soak/exporter"
	"github.com/soak-dev/soak/probes"
	"github.com/soak-dev/soak/runner"
	"github.com/soak-dev/soak/scenarios"
	"github.com/spf13/cobra"
	"golang.org/x/term"
)

func init() { subcommands = append(subcommands, newProbeCmd) }

type probeOpts struct {
	pids     []int
	pidFiles []string
	names    []string
	cgroups  []string
	scenario string
	listen   string
	scrapeTO time.Duration
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
		Use:   "probe --pid N | --listen ADDR (--pid N | --pid-file F | --process-name NAME | --cgroup PATH)...",
		Short: "Watch one process's connections, goroutines and FDs, like top",
		Long: `probe samples one running process every interval, without a scenario:
TCP sockets per layer (established, idle, idle age max/p99 from the kernel's
tcp_info, TIME_WAIT, CLOSE_WAIT and its age), goroutines by class (from the
pprof endpoint, else go_goroutines from metrics, else OS threads), file
descriptors by type, RSS, CPU and threads; and the connections closed
since it started, by layer and closer, with their idle time before close.
Those come from the kernel event witness (BPF on inet_sock_set_state: every
connection, exact to the kernel's tick; needs CAP_BPF and CAP_PERFMON, or
root), else from polling (connections shorter than an interval are not
seen); the output says which, and why not the kernel's.

A layer rule names sockets by port: name=local:PORT[,PORT] for connections
accepted on a listen port, name=remote:PORT[,PORT] for connections dialled to
a port, or both joined with ';'. The first rule that matches wins; other
sockets are shown as "other".

With --listen, probe is a Prometheus exporter (node_exporter style) instead:
it serves /metrics for every --pid and --pid-file (read at each scrape, so a
restarted server is followed), every process of a --process-name and of a
--cgroup (a container's: its processes and those of the cgroups below it),
found again at each scrape, taking one sample per process per scrape,
bounded by --scrape-timeout. A probe that fails shows as
soak_scrape_probe_success 0, not as a failed scrape. It listens on loopback
unless told otherwise.`,
		Example: `  soak probe --pid 4242
  soak probe --pid 4242 --pprof http://127.0.0.1:8080/debug/pprof/goroutine?debug=1 \
      --layer client=local:8080 --layer backend=remote:9000,9001
  soak probe --pid 4242 --once --json | jq .sockets
  soak probe --pid 4242 --interval 5s --count 12
  soak probe --listen 127.0.0.1:9469 --pid 4242 --layer client=local:8080
  soak probe --listen 127.0.0.1:9469 --pid-file /run/proxy.pid --pid-file /run/api.pid
  soak probe --listen 10.0.0.2:9469 --process-name nginx --layer client=local:80
  soak probe --listen 10.0.0.2:9469 --cgroup /system.slice/docker-4f2a.scope --node api`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runProbe(cmd, o) },
	}
	f := cmd.Flags()
	f.IntSliceVar(&o.pids, "pid", nil, "process to probe (required; repeatable with --listen)")
	f.StringArrayVar(&o.pidFiles, "pid-file", nil, "with --listen: file holding the pid of a process to export, read at each scrape (repeatable)")
	f.StringArrayVar(&o.names, "process-name", nil, "with --listen: export every process of this name (comm, or argv[0]'s base name), found at each scrape (repeatable)")
	f.StringArrayVar(&o.cgroups, "cgroup", nil, "with --listen: export every process of this cgroup v2 and those below it (a container's), as /proc/PID/cgroup names it or its directory (repeatable)")
	f.StringVar(&o.listen, "listen", "", "serve Prometheus metrics at ADDR/metrics instead of printing (e.g. "+exporter.DefaultListen+")")
	f.DurationVar(&o.scrapeTO, "scrape-timeout", exporter.DefaultScrapeTimeout, "with --listen: bound of one scrape's sample of each process")
	f.StringVar(&o.node, "node", "", "node name in the output (default: the pid; with --listen and one process only)")
	f.StringVar(&o.pprof, "pprof", "", "goroutine profile URL (.../debug/pprof/goroutine?debug=1)")
	f.StringVar(&o.metrics, "metrics", "", "Prometheus metrics URL, for go_goroutines when pprof is absent or fails")
	f.StringArrayVar(&o.layers, "layer", nil, "layer rule name=local:PORT[,PORT] or name=remote:PORT[,PORT] (repeatable)")
	f.StringVar(&o.scenario, "scenario", "", "take the layer rules of --node from this scenario (its remote and attached nodes' urls and its backends' listen addresses fix the ports), instead of --layer")
	f.DurationVar(&o.interval, "interval", probes.DefaultInterval, "time between samples")
	f.DurationVar(&o.timeout, "timeout", probes.DefaultFetchTimeout, "bound of each pprof or metrics fetch")
	f.BoolVar(&o.once, "once", false, "take one sample and exit")
	f.BoolVar(&o.json, "json", false, "print samples as JSON lines (the samples.jsonl format)")
	f.IntVar(&o.count, "count", 0, "take N samples and exit (0: until interrupted or the process exits)")
	f.BoolVar(&o.proc, "proc", false, "read /proc only: /proc/PID/net/tcp instead of sock_diag (idle ages estimated), /proc/PID/fd instead of the BPF fd iterator")
	return cmd
}

func runProbe(cmd *cobra.Command, o probeOpts) error {
	for _, pid := range o.pids {
		if pid <= 0 {
			return withCode(runner.ExitUsage, fmt.Errorf("probe: bad --pid %d", pid))
		}
	}
	t := probes.Target{Node: o.node, GoroutinesURL: o.pprof, MetricsURL: o.metrics}
	if o.scenario != "" {
		switch {
		case len(o.layers) > 0:
			return withCode(runner.ExitUsage, errors.New("probe: --scenario and --layer both give layer rules: give one"))
		case o.node == "":
			return withCode(runner.ExitUsage, errors.New("probe: --scenario needs --node, the scenario's node this process is"))
		}
		sc, _, err := scenarios.Load(o.scenario)
		if err != nil {
			return withCode(runner.ExitUsage, err)
		}
		if t.Layers, err = runner.NodeLayerRules(sc, o.node); err != nil {
			return withCode(runner.ExitUsage, fmt.Errorf("probe: --scenario %s: %w", o.scenario, err))
		}
		fmt.Fprintf(cmd.ErrOrStderr(), "soak: layers of node %s from %s: %s\n", o.node, o.scenario, rulesText(t.Layers))
	}
	for _, l := range o.layers {
		r, err := probes.ParseLayerRule(l)
		if err != nil {
			return withCode(runner.ExitUsage, err)
		}
		t.Layers = append(t.Layers, r)
	}
	if o.listen != "" {
		return runExporter(cmd, o, t)
	}
	if len(o.pidFiles)+len(o.names)+len(o.cgroups) > 0 {
		return withCode(runner.ExitUsage, errors.New("probe: --pid-file, --process-name and --cgroup need --listen"))
	}
	if len(o.pids) != 1 {
		return withCode(runner.ExitUsage, errors.New("probe: give one --pid (several only with --listen)"))
	}
	t.PID = o.pids[0]
	if len(t.Layers) == 0 {
		if t.Layers = probes.GuessLayers(cmd.Context(), t.PID); len(t.Layers) > 0 {
			fmt.Fprintf(cmd.ErrOrStderr(), "soak: no --layer: guessed %s from the listening ports\n", t.Layers[0])
		}
	}
	w := probes.WatchOptions{Interval: o.interval, Count: o.count, JSON: o.json, Redraw: isTerminal(cmd.OutOrStdout()),
		Notes: cmd.ErrOrStderr()}
	if o.once {
		w.Count = 1
	}
	opts := probeOptions(o, o.interval)
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

// runExporter serves /metrics for every --pid and --pid-file until
// interrupted. The layer rules and URLs apply to every process.
func runExporter(cmd *cobra.Command, o probeOpts, t probes.Target) error {
	var targets []exporter.Target
	for _, pid := range o.pids {
		pt := t
		if len(pt.Layers) == 0 {
			// As without --listen: the process's listening ports make layer server.
			if pt.Layers = probes.GuessLayers(cmd.Context(), pid); len(pt.Layers) > 0 {
				fmt.Fprintf(cmd.ErrOrStderr(), "soak: pid %d, no --layer: guessed %s from the listening ports\n", pid, pt.Layers[0])
			}
		}
		targets = append(targets, exporter.Target{PID: pid, Probe: pt})
	}
	for _, f := range o.pidFiles {
		targets = append(targets, exporter.Target{PIDFile: f, Probe: t})
	}
	for _, n := range o.names {
		targets = append(targets, exporter.Target{ProcessName: n, Probe: t})
	}
	for _, cg := range o.cgroups {
		targets = append(targets, exporter.Target{Cgroup: cg, Probe: t})
	}
	switch {
	case len(targets) == 0:
		return withCode(runner.ExitUsage, errors.New("probe: --listen needs --pid, --pid-file, --process-name or --cgroup"))
	case o.node != "" && len(targets) > 1:
		return withCode(runner.ExitUsage, errors.New("probe: --node names one process; with several, nodes are named by pid or pid file"))
	case o.node != "":
		targets[0].Node = o.node
	}
	c, err := exporter.New(targets, o.scrapeTO, probeOptions(o, probes.DefaultInterval)...)
	if err != nil {
		return withCode(runner.ExitUsage, err)
	}
	defer c.Close()
	errw := cmd.ErrOrStderr()
	c.Logf = func(format string, args ...any) { fmt.Fprintf(errw, "probe: "+format+"\n", args...) }
	if err := c.Open(); err != nil {
		return withCode(runner.ExitEnvironment, err)
	}
	h, err := exporter.Handler(c)
	if err != nil {
		return withCode(runner.ExitEnvironment, err)
	}
	ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err = exporter.Serve(ctx, o.listen, h, func(a net.Addr) {
		fmt.Fprintf(cmd.OutOrStdout(), "serving metrics of %d process(es) at http://%s/metrics\n", len(targets), a)
	})
	switch {
	case err != nil:
		return withCode(runner.ExitEnvironment, err)
	case ctx.Err() != nil:
		return withCode(runner.ExitInterrupted, nil)
	}
	return nil
}

// probeOptions are the samplers' options: the kernel event witness where
// the kernel allows it (else polling, and the sampler says why), nothing
// but /proc with --proc.
func probeOptions(o probeOpts, interval time.Duration) []probes.Option {
	opts := []probes.Option{probes.FetchTimeout(o.timeout), probes.KernelEvents(interval)}
	if o.proc {
		opts = append(opts, probes.ForceProc())
	}
	return opts
}

// rulesText gives rules in --layer syntax, for messages.
func rulesText(rules []probes.LayerRule) string {
	if len(rules) == 0 {
		return "none (every socket is layer other)"
	}
	out := make([]string, len(rules))
	for i, r := range rules {
		out[i] = r.String()
	}
	return strings.Join(out, " ")
}

// isTerminal reports whether w is a terminal, where probe redraws in place.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}
