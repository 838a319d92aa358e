package scenarios

import "time"

// Steady sends a constant (or sine) rate for a duration.
type Steady struct {
	Requests `yaml:",inline" json:",inline"`
	Rate     Rate     `yaml:"rate" json:"rate"`
	Duration Duration `yaml:"duration" json:"duration"`
	// SineAmplitude and SinePeriod turn the constant rate into a sine around Rate.
	SineAmplitude Rate     `yaml:"sine_amplitude,omitempty" json:"sine_amplitude,omitempty"`
	SinePeriod    Duration `yaml:"sine_period,omitempty" json:"sine_period,omitempty"`
}

var _ PhaseSpec = (*Steady)(nil)

// Kind implements PhaseSpec.
func (*Steady) Kind() string { return "steady" }

// Planned implements PhaseSpec.
func (s *Steady) Planned() time.Duration { return s.Duration.D() }

// MaxConnections implements PhaseSpec.
func (s *Steady) MaxConnections() int { return s.Requests.connections() }

func (s *Steady) scale(f func(*Duration)) { f(&s.Duration) }

func (s *Steady) validate(v *validator, k string) {
	s.Requests.validate(v, k)
	// rate: 0, written out, means as fast as the workers allow; left
	// out, it is an error (an unbounded flood is never a default).
	if _, given := v.pos[k+".rate"]; !given {
		v.fail(k+".rate", "required: a rate, e.g. 200/s (0: as fast as the workers allow)")
	}
	if s.Rate.Freq == 0 && s.SineAmplitude.Freq > 0 {
		v.fail(k+".sine_amplitude", "a sine needs a rate above 0 to swing around")
	}
	v.positiveDuration(k+".duration", s.Duration)
	if s.SineAmplitude.Freq > 0 && s.SinePeriod <= 0 {
		v.fail(k+".sine_period", "required with sine_amplitude")
	}
}

// shard splits the rate and the sine's amplitude (each shard swings in
// phase, so the sum is the whole sine) and the open-connection cap.
func (s *Steady) shard(g Segment) bool {
	s.Requests.shard(g)
	if s.SineAmplitude.Freq > 0 {
		g.rate(&s.SineAmplitude)
	}
	return g.rate(&s.Rate)
}
