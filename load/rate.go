package load

import (
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/soak-dev/soak/scenarios"
)

// timeWait is how long Linux keeps a closed connection in TIME_WAIT; churn
// needs that many seconds of its rate in source ports.
const timeWait = 60 * time.Second

// newSteady: a constant rate (or a sine around it) for Duration.
func newSteady(s *scenarios.Steady) *attackPhase {
	var p vegeta.Pacer = vegeta.ConstantPacer{Freq: s.Rate.Freq, Per: s.Rate.Per}
	if s.SineAmplitude.Freq > 0 && s.SinePeriod > 0 {
		p = vegeta.SinePacer{Period: s.SinePeriod.D(), Mean: vrate(s.Rate), Amp: vrate(s.SineAmplitude)}
	}
	return &attackPhase{kind: "steady", req: s.Requests, keepAlive: true,
		steps: []attackStep{{pacer: p, du: s.Duration.D()}}}
}

// newRamp: a linear ramp (LinearPacer) or a staircase (StepPacer).
func newRamp(r *scenarios.Ramp) *attackPhase {
	d := r.Duration.D()
	var p vegeta.Pacer
	if r.Steps > 0 {
		p = StepPacer{From: vrate(r.From), To: vrate(r.To), Steps: r.Steps, Duration: d}
	} else {
		from, to := r.From.PerSecond(), r.To.PerSecond()
		slope := 0.0
		if d > 0 {
			slope = (to - from) / d.Seconds()
		}
		start := vegeta.Rate{Freq: r.From.Freq, Per: r.From.Per}
		if start.Freq == 0 {
			// LinearPacer reads a zero start as "infinite": start at a trickle.
			start = vegeta.Rate{Freq: 1, Per: time.Second}
		}
		p = vegeta.LinearPacer{StartAt: start, Slope: slope}
	}
	return &attackPhase{kind: "ramp", req: r.Requests, keepAlive: true,
		steps: []attackStep{{pacer: p, du: d}}}
}

// newBurst: Count requests as fast as allowed, Bursts times, Pause apart.
func newBurst(b *scenarios.Burst) *attackPhase {
	n := max(b.Bursts, 1)
	a := &attackPhase{kind: "burst", req: b.Requests, keepAlive: true}
	for i := 0; i < n; i++ {
		st := attackStep{pacer: CountPacer{Count: uint64(max(b.Count, 0)), Cap: vrate(b.Rate)}}
		if i > 0 {
			st.pause = b.Pause.D()
		}
		a.steps = append(a.steps, st)
	}
	return a
}

// newChurn: a new connection per request (keep-alive off), so closed
// connections pile up in TIME_WAIT.
func newChurn(c *scenarios.Churn) *attackPhase {
	need := int(c.Rate.PerSecond() * timeWait.Seconds())
	return &attackPhase{kind: "churn", req: c.Requests, keepAlive: false, need: need,
		steps: []attackStep{{pacer: vegeta.ConstantPacer{Freq: c.Rate.Freq, Per: c.Rate.Per}, du: c.Duration.D()}}}
}
