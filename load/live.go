package load

import (
	"math"
	"sync"
	"sync/atomic"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/soak-dev/soak/internal/stats"
)

// Live are a rate-driven phase run's running totals per target, read
// while it goes on to judge load thresholds over a window (abort_on_fail).
// The phase publishes them in Stats.Live for as long as it runs. Safe for
// concurrent use.
type Live struct {
	// Phase is the run's name ("warm#2"), Kind its kind ("steady");
	// Targets its targets as written, the order of LiveSnapshot.Targets.
	Phase, Kind string
	Targets     []string
	t           []liveTarget

	mu sync.Mutex
	// planned is the requests planned by the steps done; step and began
	// the step going on (step nil: none, a pause).
	planned float64
	step    vegeta.Pacer
	began   time.Time
	du      time.Duration // the step's duration, 0: until its pacer stops
}

type liveTarget struct {
	sent, done, failed atomic.Int64
	maxNs              atomic.Int64
	lat                [stats.HistBuckets]atomic.Uint64
}

// LiveSnapshot is a Live's totals at one moment.
type LiveSnapshot struct {
	Phase, Kind string
	At          time.Time
	// Planned is how many requests the pacing planned so far, 0 when it
	// plans none (rate 0: as fast as the workers allow).
	Planned float64
	Targets []LiveTarget
}

// LiveTarget is one target's totals: requests sent (paced), answered
// (done), failed (no response or an unexpected status), their latencies
// and the longest.
type LiveTarget struct {
	Target             string
	Sent, Done, Failed int64
	Max                time.Duration
	Latency            stats.Hist
}

func newLive(phase, kind string, targets []string) *Live {
	return &Live{Phase: phase, Kind: kind, Targets: targets, t: make([]liveTarget, len(targets))}
}

// sent counts a request of target i being sent.
func (l *Live) sent(i int) {
	if l != nil && i >= 0 && i < len(l.t) {
		l.t[i].sent.Add(1)
	}
}

// done counts a result of target i.
func (l *Live) done(i int, latency time.Duration, failed bool) {
	if l == nil || i < 0 || i >= len(l.t) {
		return
	}
	t := &l.t[i]
	t.lat[stats.HistIndex(latency)].Add(1)
	for {
		m := t.maxNs.Load()
		if int64(latency) <= m || t.maxNs.CompareAndSwap(m, int64(latency)) {
			break
		}
	}
	t.done.Add(1)
	if failed {
		t.failed.Add(1)
	}
}

// stepStarted notes a step with pacer p beginning now; stepEnded its end,
// for how many requests were planned so far. A step with an unbounded
// rate plans none: the snapshot says 0 for ever after.
func (l *Live) stepStarted(p vegeta.Pacer, du time.Duration, now time.Time) {
	if l == nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.step, l.began, l.du = p, now, du
}

// stepPlanned is how many requests the step planned by now: none after
// its duration, while its last requests are answered. A step that runs
// until its pacer stops (a burst's count) plans no rate (NaN), as
// PhaseResult.PlannedRequests has none for it.
func (l *Live) stepPlanned(now time.Time) float64 {
	if l.du <= 0 {
		return math.NaN()
	}
	return plannedBy(l.step, min(now.Sub(l.began), l.du))
}

func (l *Live) stepEnded(now time.Time) {
	if l == nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.step != nil {
		l.planned += l.stepPlanned(now)
	}
	l.step = nil
}

// plannedBy integrates p's rate over its first d; NaN for a pacer with no
// finite positive rate (nothing countable is planned).
func plannedBy(p vegeta.Pacer, d time.Duration) float64 {
	const slices = 50
	if d <= 0 {
		return 0
	}
	var n float64
	dt := d / slices
	for i := range slices {
		r := p.Rate(dt*time.Duration(i) + dt/2)
		if !(r > 0) || r > 1e12 {
			return math.NaN()
		}
		n += r * dt.Seconds()
	}
	return n
}

// Snapshot returns the totals now.
func (l *Live) Snapshot(now time.Time) LiveSnapshot {
	s := LiveSnapshot{Phase: l.Phase, Kind: l.Kind, At: now, Targets: make([]LiveTarget, len(l.t))}
	l.mu.Lock()
	s.Planned = l.planned
	if l.step != nil {
		s.Planned += l.stepPlanned(now)
	}
	l.mu.Unlock()
	if math.IsNaN(s.Planned) { // an unbounded step
		s.Planned = 0
	}
	for i := range l.t {
		t, o := &l.t[i], &s.Targets[i]
		// Read in the reverse order of done's writes: a snapshot never
		// holds more failures than results, nor results without latencies.
		o.Target, o.Failed, o.Done, o.Sent = l.Targets[i], t.failed.Load(), t.done.Load(), t.sent.Load()
		o.Max = time.Duration(t.maxNs.Load())
		for j := range t.lat {
			o.Latency[j] = t.lat[j].Load()
		}
	}
	return s
}
