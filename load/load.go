// Package load puts a scenario's phases on the SUT: rate-driven phases on
// vegeta's library, and hand-written clients for what vegeta cannot do
// (idle holds, slow and abandoned clients).
package load

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/soak-dev/soak/record"
	"github.com/soak-dev/soak/scenarios"
)

// Defaults applied to a phase's Requests (see scenarios.Requests).
const (
	// DefaultConnections caps open connections per host.
	DefaultConnections = 64
	// DefaultWorkers is the initial number of vegeta workers.
	DefaultWorkers = 10
	// DefaultTimeout bounds each request (and each dial, write and read of
	// the hand-written clients).
	DefaultTimeout = 10 * time.Second
	// DefaultTarget is the request of phases that name none.
	DefaultTarget = "GET /"
	// DefaultSlowRate is the slow phase's rate in bytes per second.
	DefaultSlowRate = 1
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
	// Failed requests are counted in the result; the error is for setup and I/O.
	// A cancelled ctx stops the phase at once and still writes what ran.
	Run(ctx context.Context, env Env) (record.PhaseResult, error)
}

// New makes the phase p describes.
func New(p *scenarios.Phase) (Phase, error) {
	if p == nil {
		return nil, fmt.Errorf("load: no phase")
	}
	switch {
	case p.Steady != nil:
		return newSteady(p.Steady), nil
	case p.Ramp != nil:
		return newRamp(p.Ramp), nil
	case p.Burst != nil:
		return newBurst(p.Burst), nil
	case p.Churn != nil:
		return newChurn(p.Churn), nil
	case p.Idle != nil:
		return &idlePhase{spec: *p.Idle}, nil
	case p.Slow != nil:
		return &slowPhase{spec: *p.Slow}, nil
	case p.Abandon != nil:
		return &abandonPhase{spec: *p.Abandon}, nil
	case p.Quiet != nil:
		return &quietPhase{d: p.Quiet.Duration.D()}, nil
	}
	return nil, fmt.Errorf("load: phase %q has no kind", p.Name)
}

// Kind returns the phase's kind ("steady", "idle"...), "" if none is set.
func Kind(p *scenarios.Phase) string {
	if p == nil {
		return ""
	}
	return p.Kind()
}

// PlannedDuration is how long one run of p is planned to last (bursts: their
// pauses only, since their length depends on the SUT).
func PlannedDuration(p *scenarios.Phase) time.Duration {
	if p == nil {
		return 0
	}
	return p.Planned()
}
