// Package runner orchestrates one soak run: ports, fake backends, SUT
// nodes, probes, load phases, then checks and the report, all through the
// run directory. It owns the run's lifecycle, signals and exit causes.
package runner

import (
	"io"

	"github.com/soak-dev/soak/fakebackend"
	"github.com/soak-dev/soak/load"
	"github.com/soak-dev/soak/probes"
	"github.com/soak-dev/soak/record"
	"github.com/soak-dev/soak/scenarios"
)

// Exit codes of soak, every subcommand (docs: soak --help); a run's is
// also in meta.json.
const (
	ExitPass        = 0   // every check passed (or inconclusive, unless it fails the run)
	ExitCheckFailed = 1   // a check failed, or compare found a regression
	ExitUsage       = 2   // bad flags or arguments, an invalid scenario
	ExitEnvironment = 3   // the SUT, a backend or the machine failed
	ExitInterrupted = 130 // SIGINT or SIGTERM
)

// DefaultOutDir is where run directories go.
const DefaultOutDir = "runs"

// Options configure one run.
type Options struct {
	// Scenario to run, parsed; ScenarioYAML is its effective text (after
	// --set), copied into the run directory as scenario.yaml.
	Scenario     *scenarios.Scenario
	ScenarioYAML []byte
	// ScenarioPath names where it came from ("builtin:quick" or a file).
	ScenarioPath string
	// OutDir is the parent of the run directory. Default DefaultOutDir.
	OutDir string
	// Name replaces the scenario name in the run directory's name.
	Name string
	// DurationScale multiplies every phase duration (0 or 1: unchanged).
	DurationScale float64
	// Shard runs only this shard's part of the load (scenarios.Segment;
	// zero: the whole). scenario.yaml keeps the whole scenario and
	// meta.json the shard, so `soak merge` can join the shards.
	Shard scenarios.Segment
	// SoakBinary is the soak executable for {{.Soak}}. Default: this executable.
	SoakBinary string
	// Progress receives the live display; nil for none.
	Progress io.Writer
	// ProgressMode: "auto" (a live display on a terminal, a line every few
	// seconds elsewhere), "lines", "json" or "quiet".
	ProgressMode string
	// Args are soak's command line, recorded in meta.json.
	Args []string
	// InconclusiveFails makes an inconclusive check fail the run.
	InconclusiveFails bool
	// FailFast sets abort_on_fail on every check: the run stops at the
	// first check that has certainly failed.
	FailFast bool
	// SkipReport, once closed (e.g. by a second SIGINT), skips the report, or
	// abandons it if it is being built. The data and verdict are kept.
	SkipReport <-chan struct{}
	// Log receives one-line notices (run directory, warnings); nil for none.
	Log io.Writer

	// The families a run uses, replaced by fakes in this package's tests;
	// nil: the real ones (load.New, probes.NewSampler, fakebackend.New).
	newPhase   func(*scenarios.Phase) (load.Phase, error)
	newSampler func(probes.Target, ...probes.Option) (sampler, error)
	newBackend func(name string, cfg *scenarios.Backend, sink record.Sink) (fakebackend.Backend, error)
}

// withDefaults fills the families left nil with the real ones.
func (o Options) withDefaults() Options {
	if o.newPhase == nil {
		o.newPhase = load.New
	}
	if o.newSampler == nil {
		o.newSampler = func(t probes.Target, opts ...probes.Option) (sampler, error) { return probes.NewSampler(t, opts...) }
	}
	if o.newBackend == nil {
		o.newBackend = fakebackend.New
	}
	return o
}

// Result is how a run ended.
type Result struct {
	Dir        string
	ExitCode   int
	Ended      string // record.Ended*
	Cause      string
	Verdict    record.Verdict
	ReportPath string
	// SetupFailed is set when the SUT or its environment never came up:
	// no check had a chance, Cause says why (node, command, directory, log tail).
	SetupFailed bool
	// Lost lists the data the run failed to keep; non-empty means exit 3.
	Lost []string
}
