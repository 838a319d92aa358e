package load

import (
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/soak-dev/soak/scenarios"
)

func init() { register(newRamp) }

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
	return &attackPhase{kind: r.Kind(), req: r.Requests, keepAlive: true,
		steps: []attackStep{{pacer: p, du: d}}}
}
