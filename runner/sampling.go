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

// nodeSampler samples one node every interval in its own goroutine, so a
// slow node never delays the others' ticks.
type nodeSampler struct {
	node     string
	sampler  sampler
	interval time.Duration
	sink     record.Sink
	warn     func(string)
	// observe sees every sample once recorded (abort_on_fail); may be nil.
	observe func(node string, s record.Sample)

	mu     sync.Mutex
	latest record.Sample
	// lostSamples: a failed write was warned of once (the Writer counts them all).
	lostSamples bool
	stop        chan struct{}
	done        chan struct{}
	now         chan chan struct{} // asks for one sample now (the final one)
}

func startSampler(node string, s sampler, interval time.Duration, sink record.Sink, warn func(string), observe func(string, record.Sample)) *nodeSampler {
	ns := &nodeSampler{node: node, sampler: s, interval: interval, sink: sink, warn: warn, observe: observe,
		stop: make(chan struct{}), done: make(chan struct{}), now: make(chan chan struct{})}
	go ns.loop()
	return ns
}

func (ns *nodeSampler) loop() {
	defer close(ns.done)
	ns.tick()
	t := time.NewTicker(ns.interval)
	defer t.Stop()
	for {
		select {
		case <-ns.stop:
			return
		case reply := <-ns.now:
			ns.tick()
			close(reply)
		case <-t.C:
			if gone := ns.tick(); gone {
				return
			}
		}
	}
}

// tick takes one sample, bounded to 90% of the interval, and records it.
func (ns *nodeSampler) tick() (gone bool) {
	ctx, cancel := context.WithTimeout(context.Background(), ns.interval*9/10)
	defer cancel()
	s, conns := ns.sampler.Sample(ctx, time.Now())
	s.Node = ns.node
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
	return s.Gone
}

// Latest returns the most recent sample.
func (ns *nodeSampler) Latest() record.Sample {
	ns.mu.Lock()
	defer ns.mu.Unlock()
	return ns.latest
}

// Final takes one last sample now (unless the loop has ended), stops the
// loop, and records the connections still open.
func (ns *nodeSampler) Final() {
	reply := make(chan struct{})
	select {
	case ns.now <- reply:
		<-reply
	case <-ns.done:
	}
	close(ns.stop)
	<-ns.done
	for _, c := range ns.sampler.Close() {
		_ = ns.sink.Conn(c)
	}
}
