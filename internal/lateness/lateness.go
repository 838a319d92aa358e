// Package lateness measures the machine's timer lateness during a run, as
// cyclictest does: a goroutine sleeps a fixed step again and again and
// records how much later than asked each wake-up came. On an overloaded
// machine a SUT's own idle timer fires late by as much, and that lateness
// is real, not a leak; the reclaim check widens its default tolerance by it.
package lateness

import (
	"math"
	"sync"
	"time"

	"github.com/soak-dev/soak/internal/stats"
	"github.com/soak-dev/soak/record"
)

// DefaultStep is the sleep between wake-ups: fine enough to catch any
// stall longer than it, coarse enough to cost nothing (20 wake-ups a second).
const DefaultStep = 50 * time.Millisecond

// Meter measures timer lateness until Stop. Memory is bounded: a
// stats.Hist and the maximum, whatever the run's length.
type Meter struct {
	step time.Duration
	now  func() time.Time
	// wait sleeps d and reports true, or false once the meter is stopped.
	wait func(d time.Duration) bool

	stop, done chan struct{}
	once       sync.Once

	mu   sync.Mutex
	hist stats.Hist
	max  time.Duration
	n    int64
}

// Start starts measuring with the real clock, one wake-up per step.
func Start(step time.Duration) *Meter {
	m := newMeter(step, time.Now, nil)
	m.wait = func(d time.Duration) bool {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-t.C:
			return true
		case <-m.stop:
			return false
		}
	}
	go m.loop()
	return m
}

func newMeter(step time.Duration, now func() time.Time, wait func(time.Duration) bool) *Meter {
	if step <= 0 {
		step = DefaultStep
	}
	return &Meter{step: step, now: now, wait: wait, stop: make(chan struct{}), done: make(chan struct{})}
}

func (m *Meter) loop() {
	defer close(m.done)
	for {
		t0 := m.now()
		if !m.wait(m.step) {
			return
		}
		m.observe(m.now().Sub(t0) - m.step)
	}
}

// observe counts one wake-up that came late (a negative one counts as 0).
func (m *Meter) observe(late time.Duration) {
	late = max(late, 0)
	m.mu.Lock()
	defer m.mu.Unlock()
	m.hist.Add(late)
	m.max = max(m.max, late)
	m.n++
}

// Figures is what the meter saw so far.
func (m *Meter) Figures() record.TimerLateness {
	m.mu.Lock()
	defer m.mu.Unlock()
	t := record.TimerLateness{StepMs: m.step.Milliseconds(), Samples: m.n, MaxMs: ms(m.max)}
	if _, hi, ok := m.hist.Quantile(0.5); ok {
		t.P50Ms = min(ms(hi), t.MaxMs) // a bucket's upper bound, never above the exact max
	}
	if _, hi, ok := m.hist.Quantile(0.99); ok {
		t.P99Ms = min(ms(hi), t.MaxMs)
	}
	return t
}

// Stop ends the measuring goroutine, waits for it, and returns the figures.
// It may be called more than once.
func (m *Meter) Stop() record.TimerLateness {
	m.once.Do(func() { close(m.stop) })
	<-m.done
	return m.Figures()
}

// ms is d in milliseconds to 0.1 ms.
func ms(d time.Duration) float64 {
	return math.Round(float64(d)/float64(time.Millisecond)*10) / 10
}
