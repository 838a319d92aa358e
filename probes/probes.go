// Package probes samples one SUT process: goroutines by class, file
// descriptors by type, TCP sockets by layer, state and idle age, and
// process facts.
//
// A Sampler is built once per node (NewSampler) and called every tick
// (Sample) from one goroutine; each probe that fails leaves its part of the
// record.Sample nil and says why in Errors, so a partial sample is still data.
package probes

import (
	"context"
	"time"

	"github.com/soak-dev/soak/internal/ownconns"
	"github.com/soak-dev/soak/record"
)

// Defaults of a Sampler.
const (
	// DefaultFetchTimeout bounds one HTTP fetch of the pprof or metrics endpoint.
	DefaultFetchTimeout = 2 * time.Second
	// DefaultTopStacks is how many "other" goroutine stacks a sample keeps.
	DefaultTopStacks = 5
)

// EventsPolling names the method of a sampler without the kernel event
// witness: connections' lives come from consecutive samples.
const EventsPolling = "polling"

// Target is the process one Sampler watches.
type Target struct {
	Node string
	PID  int
	// GoroutinesURL is the node's /debug/pprof/goroutine?debug=1 URL; "" for none.
	GoroutinesURL string
	// MetricsURL is the node's Prometheus metrics URL; "" for none.
	MetricsURL string
	// Layers classify the process's sockets; the first rule that matches wins.
	Layers []LayerRule
}

// LayerRule classifies a socket into a layer: its local port is one of
// LocalPorts (server side) or its remote port is one of RemotePorts (client side).
type LayerRule struct {
	Name        string
	LocalPorts  []int
	RemotePorts []int
}

// Sampler samples one Target. Not safe for concurrent use: one goroutine calls Sample.
type Sampler struct {
	target       Target
	root         procRoot
	fetchTimeout time.Duration
	topStacks    int
	forceProc    bool
	events       time.Duration // >0: run the kernel event witness; the sample interval
	method       string
	layers       layerSet
	tracker      *tracker
	fetch        *fetcher
	soaks        *ownconns.Set   // every connection soak dialled (OwnConns); nil: unknown
	sys          *sysState       // the platform's part
	sources      []source        // the registered sources this target needs, in stage order
	names        []string        // the sources' names, by index
	took         []time.Duration // each source's time in the last tick (start + finish)
	gone         string          // why sampling stopped; "" while the process lives
	closed       bool
}

// Option configures a Sampler.
type Option func(*Sampler)

// FetchTimeout bounds each HTTP fetch (pprof, metrics); 0 keeps DefaultFetchTimeout.
func FetchTimeout(d time.Duration) Option {
	return func(s *Sampler) {
		if d > 0 {
			s.fetchTimeout = d
		}
	}
}

// ProcRoot makes the sampler read the proc file system at dir instead of
// DefaultProcRoot (node_exporter's --path.procfs): a host's /proc mounted
// elsewhere, or a fixture tree in tests. Netlink and BPF read the kernel
// directly and are not affected.
func ProcRoot(dir string) Option {
	return func(s *Sampler) {
		if dir != "" {
			s.root = procRoot(dir)
		}
	}
}

// ForceProc makes the sampler read /proc/PID/net/tcp{,6} instead of the
// sock_diag netlink dump (the fallback, with estimated idle ages), and
// /proc/PID/fd instead of the BPF fd iterator.
func ForceProc() Option { return func(s *Sampler) { s.forceProc = true } }

// KernelEvents turns on the kernel event witness (inet_sock_set_state
// through BPF): one exact record.Conn per connection of the target's
// layers, with witness record.WitnessKernelEvents. interval is the sample
// interval: connections that live less are counted as short. Without
// CAP_BPF/CAP_PERFMON, kernel BTF or the tracepoint the sampler polls
// only, and EventsFallback says why.
func KernelEvents(interval time.Duration) Option {
	return func(s *Sampler) { s.events = interval }
}

// OwnConns gives the sampler the connections soak itself dials (its load
// client's, every node's prober's), open or closed lately; the sampler's
// prober adds its own. A socket no fd owns (TIME_WAIT) whose local end is
// one of them is soak's closed end, not the node's, even where a layer
// rule names its remote port (a proxy's layer to a target that the load
// also dials). The runner shares one set between the load and every local
// node's sampler.
func OwnConns(set *ownconns.Set) Option { return func(s *Sampler) { s.soaks = set } }

// TopStacks sets how many "other" goroutine stacks a sample keeps; 0 keeps none.
func TopStacks(n int) Option { return func(s *Sampler) { s.topStacks = n } }

// NewSampler checks that the target can be sampled (the process exists and
// its /proc entries are readable) and returns a sampler.
func NewSampler(t Target, opts ...Option) (*Sampler, error) { return newSampler(t, opts...) }

// Sample takes one sample at now, bounded by ctx, and returns the
// connections the tracker saw end since the previous sample.
func (s *Sampler) Sample(ctx context.Context, now time.Time) (record.Sample, []record.Conn) {
	return s.sample(ctx, now)
}

// Close returns the connections still open (ClosedBy record.OpenAtEnd) and
// releases the sampler's netlink socket and HTTP connections.
func (s *Sampler) Close() []record.Conn { return s.close() }

// Durations returns the time each probe source took in the last sample
// (its start and its finish; for goroutines, whose fetch runs while the
// others read, the time the sample waited for it), by source name
// ("process", "fds", "sockets", "goroutines", "events"). A source the
// last sample did not reach (the process was gone) is absent.
func (s *Sampler) Durations() map[string]time.Duration {
	out := make(map[string]time.Duration, len(s.took))
	for i, d := range s.took {
		if d >= 0 {
			out[s.names[i]] = d
		}
	}
	return out
}

// Method says which socket method the sampler uses (record.MethodNetlink or MethodProc).
func (s *Sampler) Method() string { return s.method }
