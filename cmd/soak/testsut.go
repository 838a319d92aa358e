package main

import (
	"errors"
	"os/signal"
	"sort"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/soak-dev/soak/runner"
	"github.com/soak-dev/soak/testsut"
)

func init() { subcommands = append(subcommands, newTestsutCmd) }

// testsutOpts are the flags of `soak testsut`.
type testsutOpts struct {
	role, engine, clientEngine, targets, leaks string
	cfg                                        testsut.Config
}

func newTestsutCmd() *cobra.Command {
	o := &testsutOpts{cfg: testsut.DefaultConfig()}
	cmd := &cobra.Command{
		Use:   "testsut",
		Short: "Run one node of the reference SUT (proxy -> target -> S3), optionally leaking",
		Long: `testsut runs one node of soak's reference system under test: a proxy that
forwards /v1/objects/{bucket}/{key} to targets over HTTP, or a target that serves
them from an S3 backend. It runs until SIGTERM or SIGINT, then shuts down
gracefully. --leak switches on named, real-world connection and goroutine leaks:
` + leakHelp(),
		Example: `  soak testsut --role target --listen 127.0.0.1:9001 --backend http://127.0.0.1:9000 --bucket soak
  soak testsut --role proxy --listen 127.0.0.1:8080 --targets http://127.0.0.1:9001 --idle-timeout 4s
  soak testsut --role proxy --engine fasthttp --listen 127.0.0.1:8080 --targets http://127.0.0.1:9001 --leak intra-no-idle-timeout`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg := o.cfg
			cfg.Role = testsut.Role(o.role)
			cfg.Engine = testsut.Engine(o.engine)
			cfg.ClientEngine = testsut.Engine(o.clientEngine)
			if o.targets != "" {
				cfg.Targets = strings.Split(o.targets, ",")
			}
			leaks, err := testsut.ParseLeaks(o.leaks)
			if err != nil {
				return withCode(runner.ExitUsage, err)
			}
			cfg.Leaks = leaks
			if err := cfg.Validate(); err != nil {
				return withCode(runner.ExitUsage, err)
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGTERM, syscall.SIGINT)
			defer stop()
			if err := testsut.Run(ctx, cfg); err != nil {
				if errors.Is(err, testsut.ErrConfig) {
					return withCode(runner.ExitUsage, err)
				}
				return withCode(runner.ExitEnvironment, err)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.role, "role", "", "proxy or target (required)")
	f.StringVar(&o.cfg.Listen, "listen", "", "address to serve on, host:port (required)")
	f.StringVar(&o.targets, "targets", "", "proxy: comma-separated target base URLs, http://host:port")
	f.StringVar(&o.cfg.Backend, "backend", "", "target: S3 endpoint base URL; objects at {backend}/{bucket}/{key}")
	f.StringVar(&o.cfg.Bucket, "bucket", "", "target: the only bucket served (empty: any)")
	f.StringVar(&o.cfg.AccessKey, "access-key", "", "target: S3 access key; with --secret-key, requests are SigV4-signed")
	f.StringVar(&o.cfg.SecretKey, "secret-key", "", "target: S3 secret key")
	f.StringVar(&o.cfg.Region, "region", testsut.DefaultRegion, "target: SigV4 region")
	f.BoolVar(&o.cfg.Cache, "cache", false, "target: keep objects in memory and serve GETs from there")
	f.StringVar(&o.engine, "engine", string(testsut.EngineNetHTTP), "server engine: net/http or fasthttp")
	f.StringVar(&o.clientEngine, "client-engine", "", "engine of the outgoing client (proxy->target or target->backend); default --engine")
	f.DurationVar(&o.cfg.IdleTimeout, "idle-timeout", testsut.DefaultIdleTimeout, "server idle timeout (0: unset; falls back to the read timeout, none for net/http)")
	f.DurationVar(&o.cfg.ReadHeaderTimeout, "read-header-timeout", testsut.DefaultReadHeaderTimeout, "server read header timeout (fasthttp: read timeout)")
	f.DurationVar(&o.cfg.IntraIdleConnTimeout, "intra-idle-conn-timeout", testsut.DefaultIntraIdleConnTimeout, "proxy->target client idle conn timeout")
	f.IntVar(&o.cfg.IntraMaxIdlePerHost, "intra-max-idle-per-host", testsut.DefaultMaxIdlePerHost, "proxy->target idle conns per host (fasthttp: MaxConns)")
	f.DurationVar(&o.cfg.BackendIdleConnTimeout, "backend-idle-conn-timeout", testsut.DefaultBackendIdleConnTimeout, "target->backend client idle conn timeout")
	f.IntVar(&o.cfg.BackendMaxIdlePerHost, "backend-max-idle-per-host", testsut.DefaultMaxIdlePerHost, "target->backend idle conns per host (fasthttp: MaxConns)")
	f.StringVar(&o.leaks, "leak", "", "comma-separated leaks to switch on (see above)")
	f.StringVar(&o.cfg.PIDFile, "pid-file", "", "write the process id here once listening")
	return cmd
}

func leakHelp() string {
	leaks := testsut.Leaks()
	names := make([]string, 0, len(leaks))
	for l := range leaks {
		names = append(names, string(l))
	}
	sort.Strings(names)
	var b strings.Builder
	for _, l := range names {
		b.WriteString("  " + l + ": " + leaks[testsut.Leak(l)] + "\n")
	}
	return b.String()
}
