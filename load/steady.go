package load

import (
	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/soak-dev/soak/scenarios"
)

func init() { register(newSteady) }

// newSteady: a constant rate (or a sine around it) for Duration.
func newSteady(s *scenarios.Steady) *attackPhase {
	var p vegeta.Pacer = vegeta.ConstantPacer{Freq: s.Rate.Freq, Per: s.Rate.Per}
	if s.SineAmplitude.Freq > 0 && s.SinePeriod > 0 {
		p = vegeta.SinePacer{Period: s.SinePeriod.D(), Mean: vrate(s.Rate), Amp: vrate(s.SineAmplitude)}
	}
	return &attackPhase{kind: s.Kind(), req: s.Requests, keepAlive: true,
		steps: []attackStep{{pacer: p, du: s.Duration.D()}}}
}
