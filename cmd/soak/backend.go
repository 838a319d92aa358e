package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"slices"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/soak-dev/soak/fakebackend"
	"github.com/soak-dev/soak/runner"
	"github.com/soak-dev/soak/scenarios"
)

func init() { subcommands = append(subcommands, newBackendCmd) }

// backendOpts are the flags of soak backend.
type backendOpts struct {
	kind, listen, ledger, name string
	accessKey, secretKey       string
	idleTimeout                time.Duration
	buckets                    []string
	hostBases                  []string
	verify                     bool
	latency                    time.Duration
	errorRate                  float64
	closeIdleAfter             time.Duration
}

func newBackendCmd() *cobra.Command {
	var o backendOpts
	cmd := &cobra.Command{
		Use:   "backend",
		Short: "Serve one fake cloud backend (S3, GCS, Azure Blob) with a connection ledger",
		Long: `Serve one fake cloud backend standalone, for a server under test run by hand.
It prints its URL and credentials, logs one line per connection closed (who
closed it, requests, bytes, idle gaps), serves live counts at /_soak/conns,
and on SIGINT closes every connection and flushes the ledger (one JSON line
per connection, the format of a run's conns.jsonl). It binds 127.0.0.1
unless --listen says otherwise.`,
		Example: `  soak backend --kind s3 --ledger conns.jsonl
  soak backend --kind s3 --listen 127.0.0.1:9000 --idle-timeout 30s --bucket data --bucket logs
  soak backend --kind s3 --verify-signatures --access-key AK --secret-key SK
  soak backend --kind s3 --virtual-host-base 127.0.0.1.nip.io
  soak backend --kind s3 --latency 20ms --error-rate 0.01 --close-idle-after 5s`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runBackend(cmd, o) },
	}
	f := cmd.Flags()
	f.StringVar(&o.kind, "kind", scenarios.S3Backend{}.Kind(), "backend kind: "+fmt.Sprint(fakebackend.Kinds()))
	f.StringVar(&o.listen, "listen", fakebackend.DefaultStandaloneListen, "address to bind")
	f.StringVar(&o.ledger, "ledger", "", "append one JSON line per connection to this file")
	f.StringVar(&o.name, "name", "", "name in the ledger (default: the kind)")
	f.DurationVar(&o.idleTimeout, "idle-timeout", 0, "close connections idle this long, like a cloud (0: never)")
	f.StringArrayVar(&o.buckets, "bucket", nil, "bucket (container) to create at start (repeatable)")
	f.StringVar(&o.accessKey, "access-key", "", "access key (default "+fakebackend.DefaultAccessKey+")")
	f.StringVar(&o.secretKey, "secret-key", "", "secret key (default "+fakebackend.DefaultSecretKey+")")
	f.StringArrayVar(&o.hostBases, "virtual-host-base", nil, "S3: also take BUCKET.NAME as virtual-hosted-style, besides BUCKET.localhost (repeatable)")
	f.BoolVar(&o.verify, "verify-signatures", false, "reject S3 requests without a valid SigV4 signature")
	f.DurationVar(&o.latency, "latency", 0, "fault: delay before every response")
	f.Float64Var(&o.errorRate, "error-rate", 0, "fault: share of requests answered 503 SlowDown (0..1)")
	f.DurationVar(&o.closeIdleAfter, "close-idle-after", 0, "fault: close connections idle this long (0: off)")
	return cmd
}

func runBackend(cmd *cobra.Command, o backendOpts) error {
	if o.errorRate < 0 || o.errorRate > 1 {
		return withCode(runner.ExitUsage, fmt.Errorf("--error-rate %v: want 0..1", o.errorRate))
	}
	cfg := scenarios.Backend{
		Kind: o.kind, Listen: o.listen, IdleTimeout: scenarios.Duration(o.idleTimeout), Buckets: o.buckets,
		AccessKey: o.accessKey, SecretKey: o.secretKey, VerifySignatures: o.verify, VirtualHostBases: o.hostBases,
	}
	if o.latency > 0 || o.errorRate > 0 || o.closeIdleAfter > 0 {
		cfg.Faults = &scenarios.Faults{Latency: scenarios.Duration(o.latency), ErrorRate: o.errorRate,
			CloseIdleAfter: scenarios.Duration(o.closeIdleAfter)}
	}
	if !slices.Contains(fakebackend.Kinds(), o.kind) {
		return withCode(runner.ExitUsage, fmt.Errorf("--kind %q: want one of %v", o.kind, fakebackend.Kinds()))
	}
	parent := cmd.Context()
	if parent == nil {
		parent = context.Background()
	}
	ctx, stop := signal.NotifyContext(parent, os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := fakebackend.Serve(ctx, fakebackend.StandaloneOptions{Name: o.name, Config: cfg, Ledger: o.ledger, Log: cmd.OutOrStdout()})
	if err != nil {
		return withCode(runner.ExitEnvironment, err)
	}
	return nil
}
