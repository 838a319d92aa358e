package load

import (
	"math"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/soak-dev/soak/scenarios"
)

func vrate(r scenarios.Rate) vegeta.Rate { return vegeta.Rate{Freq: r.Freq, Per: r.Per} }

// StepPacer is a staircase from From to To in Steps equal steps over
// Duration: step i (0-based) runs at From + (To-From)*i/(Steps-1).
type StepPacer struct {
	From, To vegeta.Rate
	Steps    int
	Duration time.Duration
}

var _ vegeta.Pacer = StepPacer{}

// rate is the rate of step i in hits per second.
func (p StepPacer) rate(i int) float64 {
	from, to := perSecond(p.From), perSecond(p.To)
	if p.Steps <= 1 {
		return to
	}
	return from + (to-from)*float64(i)/float64(p.Steps-1)
}

func (p StepPacer) stepLen() time.Duration { return p.Duration / time.Duration(max(p.Steps, 1)) }

func (p StepPacer) step(t time.Duration) int {
	l := p.stepLen()
	if l <= 0 {
		return 0
	}
	return min(int(t/l), max(p.Steps, 1)-1)
}

// hits is how many hits should have been sent by t.
func (p StepPacer) hits(t time.Duration) float64 {
	l := p.stepLen()
	i := p.step(t)
	h := 0.0
	for j := 0; j < i; j++ {
		h += p.rate(j) * l.Seconds()
	}
	return h + p.rate(i)*(t-time.Duration(i)*l).Seconds()
}

// Rate returns the instantaneous rate (hits per second) at elapsed.
func (p StepPacer) Rate(elapsed time.Duration) float64 { return p.rate(p.step(elapsed)) }

// Pace implements vegeta.Pacer.
func (p StepPacer) Pace(elapsed time.Duration, hits uint64) (time.Duration, bool) {
	if p.Steps <= 0 || p.Duration <= 0 {
		return 0, true
	}
	expected := p.hits(elapsed)
	if float64(hits) < expected {
		return 0, false
	}
	r := p.Rate(elapsed)
	next := time.Duration(p.step(elapsed)+1) * p.stepLen()
	if r <= 0 {
		// Nothing to send in this step: wait for the next one.
		return max(next-elapsed, time.Millisecond), false
	}
	wait := time.Duration((float64(hits+1) - expected) / r * 1e9)
	if wait > next-elapsed && next < p.Duration {
		wait = max(next-elapsed, time.Millisecond)
	}
	return wait, false
}

func perSecond(r vegeta.Rate) float64 {
	if r.Per <= 0 {
		return 0
	}
	return float64(r.Freq) / r.Per.Seconds()
}

// CountPacer sends Count hits at Cap (a zero Cap: as fast as the workers
// allow), then stops: one burst.
type CountPacer struct {
	Count uint64
	Cap   vegeta.Rate
}

var _ vegeta.Pacer = CountPacer{}

// Pace implements vegeta.Pacer.
func (p CountPacer) Pace(elapsed time.Duration, hits uint64) (time.Duration, bool) {
	if hits >= p.Count {
		return 0, true
	}
	if p.Cap.Freq <= 0 || p.Cap.Per <= 0 {
		return 0, false
	}
	return vegeta.ConstantPacer{Freq: p.Cap.Freq, Per: p.Cap.Per}.Pace(elapsed, hits)
}

// Rate implements the pacer's rate at elapsed (hits per second).
func (p CountPacer) Rate(time.Duration) float64 {
	if p.Cap.Freq <= 0 {
		return math.Inf(1)
	}
	return perSecond(p.Cap)
}
