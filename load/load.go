// Package load puts a scenario's phases on the SUT: rate-driven phases on
// vegeta's library, and hand-written clients for what vegeta cannot do
// (idle holds, slow and abandoned clients).
package load

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sync/atomic"
	"time"

	"github.com/soak-dev/soak/internal/ownconns"
	"github.com/soak-dev/soak/record"
	"github.com/soak-dev/soak/scenarios"
)

// Defaults applied to a phase's Requests (see scenarios.Requests).
const (
	// DefaultConnections caps open connections per host.
	DefaultConnections = scenarios.DefaultConnections
	// DefaultWorkers is the initial number of vegeta workers.
	DefaultWorkers = 10
	// DefaultTimeout bounds each request (and each dial, write and read of
	// the hand-written clients).
	DefaultTimeout = 10 * time.Second
	// DefaultTarget is the request of phases that name none.
	DefaultTarget = scenarios.DefaultTarget
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
	// OwnConns receives every connection the phase dials (open, then
	// closed), so the nodes' samplers tell soak's closed ends (TIME_WAIT)
	// from the nodes'; may be nil.
	OwnConns *ownconns.Set
	// Seed seeds {{rand N}} of this phase run (0: DefaultSeed). The runner
	// gives each run of a phase its own (its index in the run), so repeats
	// reach other keys while a scenario still sends the same requests every time.
	Seed uint64
}

// Stats are live counters of the running phase, safe for concurrent use.
type Stats struct {
	Requests  atomic.Int64
	Errors    atomic.Int64
	OpenConns atomic.Int64
	live      atomic.Pointer[Live]
}

// Live returns the running rate-driven phase's live totals per target,
// nil when none runs.
func (s *Stats) Live() *Live { return s.live.Load() }

// Phase is one kind of load.
type Phase interface {
	// Run puts the load on until the phase's duration is over or ctx is
	// done, writes its results to the run directory and returns their summary.
	// Failed requests are counted in the result; the error is for setup and I/O.
	// A cancelled ctx stops the phase at once and still writes what ran.
	Run(ctx context.Context, env Env) (record.PhaseResult, error)
}

// builders make the phases, by kind (scenarios.PhaseSpec.Kind). Each
// kind's file registers its builder in init (node_exporter's
// registerCollector), so this file names no kind.
var builders = map[string]func(scenarios.PhaseSpec) Phase{}

// register makes build the builder of its spec type's kind. A kind
// registered twice is a programming error: it panics at init, so every
// test catches it.
func register[S scenarios.PhaseSpec, P Phase](build func(S) P) {
	var zero S // a nil pointer: Kind does not look at it
	kind := zero.Kind()
	if _, dup := builders[kind]; dup {
		panic("load: phase kind " + kind + " registered twice")
	}
	builders[kind] = func(s scenarios.PhaseSpec) Phase { return build(s.(S)) }
}

// Kinds returns the registered phase kinds, sorted.
func Kinds() []string { return slices.Sorted(maps.Keys(builders)) }

// New makes the phase p describes.
func New(p *scenarios.Phase) (Phase, error) {
	if p == nil {
		return nil, fmt.Errorf("load: no phase")
	}
	spec := p.Spec()
	if spec == nil {
		return nil, fmt.Errorf("load: phase %q has no kind", p.Name)
	}
	build, ok := builders[spec.Kind()]
	if !ok {
		return nil, fmt.Errorf("load: phase %q: kind %q has no implementation in package load", p.Name, spec.Kind())
	}
	return build(spec), nil
}
