package runner

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/soak-dev/soak/probes"
	"github.com/soak-dev/soak/record"
)

// sampler is what the runner needs of a probes.Sampler (tests pass fakes).
type sampler interface {
	Sample(ctx context.Context, now time.Time) (record.Sample, []record.Conn)
	Close() []record.Conn
	Method() string
	FDMethod() string
	EventsMethod() string
	EventsFallback() string
}

var _ sampler = (*probes.Sampler)(nil)

// nodeSampler takes one node's samples every interval in its own
// goroutine, so a slow node never delays the others' ticks. Every sample,
// whatever its source (a local probe, an exporter, Prometheus), takes the
// same path: written to the run directory, the node's Latest (the
// progress line), then observe (abort_on_fail).
type nodeSampler struct {
	node     string
	interval time.Duration
	sink     record.Sink
	warn     func(string)
	// observe sees every sample once recorded (abort_on_fail); may be nil.
	observe func(node string, s record.Sample)

	// take takes the node's new samples, records each with keep, and
	// says whether the node is gone; ctx ends when the sampler stops.
	take func(ctx context.Context) (gone bool)
	// close ends the source; it returns the connections still open.
	close func() []record.Conn
	// finalTake: Final takes one last sample now. Not for Prometheus,
	// whose last read waits for the end's scrape to land (readRemote).
	finalTake bool

	mu     sync.Mutex
	latest record.Sample
	// lostSamples: a failed write was warned of once (the Writer counts them all).
	lostSamples bool
	ctx         context.Context
	cancel      context.CancelFunc
	stop        chan struct{}
	done        chan struct{}
	now         chan chan struct{} // asks for one sample now (the final one)
}

func newNodeSampler(node string, interval time.Duration, sink record.Sink, warn func(string), observe func(string, record.Sample)) *nodeSampler {
	ns := &nodeSampler{node: node, interval: interval, sink: sink, warn: warn, observe: observe, finalTake: true,
		stop: make(chan struct{}), done: make(chan struct{}), now: make(chan chan struct{})}
	ns.ctx, ns.cancel = context.WithCancel(context.Background())
	return ns
}

// startSampler samples node with s every interval, one sample a tick,
// each bounded to 90% of the interval.
func startSampler(node string, s sampler, interval time.Duration, sink record.Sink, warn func(string), observe func(string, record.Sample)) *nodeSampler {
	ns := newNodeSampler(node, interval, sink, warn, observe)
	ns.take = func(ctx context.Context) bool {
		ctx, cancel := context.WithTimeout(ctx, interval*9/10)
		defer cancel()
		smp, conns := s.Sample(ctx, time.Now())
		smp.Node = node
		ns.keep(smp, conns)
		return smp.Gone
	}
	ns.close = s.Close
	go ns.loop()
	return ns
}

func (ns *nodeSampler) loop() {
	defer close(ns.done)
	ns.take(ns.ctx)
	t := time.NewTicker(ns.interval)
	defer t.Stop()
	for {
		select {
		case <-ns.stop:
			return
		case reply := <-ns.now:
			ns.take(ns.ctx)
			close(reply)
		case <-t.C:
			select {
			case <-ns.stop: // a tick that came with Final's stop is not taken
				return
			default:
			}
			if gone := ns.take(ns.ctx); gone {
				return
			}
		}
	}
}

// keep records one sample of the node and the connections that came with
// it, makes it the node's latest and lets observe judge it.
func (ns *nodeSampler) keep(s record.Sample, conns []record.Conn) {
	if err := ns.sink.Sample(s); err != nil && !ns.lostSamples {
		ns.lostSamples = true
		ns.warn(fmt.Sprintf("node %s: record sample: %v (further failures are counted, not shown)", ns.node, err))
	}
	for _, c := range conns {
		_ = ns.sink.Conn(c)
	}
	ns.mu.Lock()
	ns.latest = s
	ns.mu.Unlock()
	if ns.observe != nil {
		ns.observe(ns.node, s)
	}
}

// Latest returns the most recent sample.
func (ns *nodeSampler) Latest() record.Sample {
	ns.mu.Lock()
	defer ns.mu.Unlock()
	return ns.latest
}

// Final takes one last sample now (unless the loop has ended), stops the
// loop, and records the connections still open. A source read later
// (finalTake false) takes no sample now and a take in progress is
// cancelled.
func (ns *nodeSampler) Final() {
	if ns.finalTake {
		reply := make(chan struct{})
		select {
		case ns.now <- reply:
			<-reply
		case <-ns.done:
		}
	}
	close(ns.stop)
	if !ns.finalTake {
		ns.cancel() // its last read comes later: one in flight is asked again then
	}
	<-ns.done
	ns.cancel()
	for _, c := range ns.close() {
		_ = ns.sink.Conn(c)
	}
}
