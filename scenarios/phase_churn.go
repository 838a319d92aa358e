package scenarios

import "time"

// Churn sends requests with a new connection each (keep-alive off).
type Churn struct {
	Requests `yaml:",inline" json:",inline"`
	Rate     Rate     `yaml:"rate" json:"rate"`
	Duration Duration `yaml:"duration" json:"duration"`
}

var _ PhaseSpec = (*Churn)(nil)

// Kind implements PhaseSpec.
func (*Churn) Kind() string { return "churn" }

// Planned implements PhaseSpec.
func (c *Churn) Planned() time.Duration { return c.Duration.D() }

// MaxConnections implements PhaseSpec.
func (c *Churn) MaxConnections() int { return c.Requests.connections() }

func (c *Churn) scale(f func(*Duration)) { f(&c.Duration) }

func (c *Churn) validate(v *validator, k string) {
	c.Requests.validate(v, k)
	v.positiveRate(k+".rate", c.Rate)
	v.positiveDuration(k+".duration", c.Duration)
}

func (c *Churn) shard(g Segment) bool { c.Requests.shard(g); return g.rate(&c.Rate) }
