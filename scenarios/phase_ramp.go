package scenarios

import "time"

// Ramp moves the rate linearly from From to To over Duration (or in Steps equal steps).
type Ramp struct {
	Requests `yaml:",inline" json:",inline"`
	From     Rate     `yaml:"from" json:"from"`
	To       Rate     `yaml:"to" json:"to"`
	Duration Duration `yaml:"duration" json:"duration"`
	// Steps > 0 makes a staircase of that many steps instead of a line.
	Steps int `yaml:"steps,omitempty" json:"steps,omitempty"`
}

var _ PhaseSpec = (*Ramp)(nil)

// Kind implements PhaseSpec.
func (*Ramp) Kind() string { return "ramp" }

// Planned implements PhaseSpec.
func (r *Ramp) Planned() time.Duration { return r.Duration.D() }

// MaxConnections implements PhaseSpec.
func (r *Ramp) MaxConnections() int { return r.Requests.connections() }

func (r *Ramp) scale(f func(*Duration)) { f(&r.Duration) }

func (r *Ramp) validate(v *validator, k string) {
	r.Requests.validate(v, k)
	v.positiveDuration(k+".duration", r.Duration)
	if r.From.Freq == 0 && r.To.Freq == 0 {
		v.fail(k+".to", "required: the rate to ramp to, e.g. 500/s")
	}
	v.count(k+".steps", r.Steps, MaxCount)
}

// shard splits both ends (0 is a real rate in a ramp); a shard whose
// part of both is nothing sits the ramp out.
func (r *Ramp) shard(g Segment) bool {
	r.Requests.shard(g)
	r.From.Freq, r.To.Freq = g.Part(r.From.Freq), g.Part(r.To.Freq)
	return r.From.Freq > 0 || r.To.Freq > 0
}
