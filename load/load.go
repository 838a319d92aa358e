// Package load puts a scenario's phases on the SUT: rate-driven phases on
// vegeta's library, and hand-written clients for what vegeta cannot do
// (idle holds, slow and abandoned clients).
package load

import (
	"context"
	"errors"
	"sync/atomic"

	"github.com/soak-dev/soak/record"
	"github.com/soak-dev/soak/scenarios"
)

// Env is what a phase needs from the run.
type Env struct {
	// Phase is the name of this run of the phase ("warm", "warm#2"...).
	Phase string
	// BaseURL is the scenario's resolved Target; targets that are paths join it.
	BaseURL string
	// Data is the template data for per-request templating of targets.
	Data any
	// Sink receives the client-side ledger (record.Conn, Witness record.WitnessClient).
	Sink record.Sink
	// RunDir is where load/<phase>.results.gob and load/<phase>.json go.
	RunDir string
	// Stats is updated live for the progress display; may be nil.
	Stats *Stats
}

// Stats are live counters of the running phase, safe for concurrent use.
type Stats struct {
	Requests  atomic.Int64
	Errors    atomic.Int64
	OpenConns atomic.Int64
}

// Phase is one kind of load.
type Phase interface {
	// Run puts the load on until the phase's duration is over or ctx is
	// done, writes its results to the run directory and returns their summary.
	Run(ctx context.Context, env Env) (record.PhaseResult, error)
}

// New makes the phase p describes.
func New(p *scenarios.Phase) (Phase, error) { return nil, errors.New("load: not implemented yet") }
