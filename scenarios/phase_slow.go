package scenarios

import "time"

// Slow runs slowloris-style clients for Duration.
type Slow struct {
	Connections int      `yaml:"connections" json:"connections"`
	Duration    Duration `yaml:"duration" json:"duration"`
	// Mode: "headers" (send request headers slowly), "body" (send a body
	// slowly), or "read" (read the response slowly). Default headers.
	Mode string `yaml:"mode,omitempty" json:"mode,omitempty"`
	// Rate in bytes per second per connection. Default 1.
	Rate   ByteSize `yaml:"rate,omitempty" json:"rate,omitempty"`
	Target string   `yaml:"target,omitempty" json:"target,omitempty"`
}

var _ PhaseSpec = (*Slow)(nil)

// Kind implements PhaseSpec.
func (*Slow) Kind() string { return "slow" }

// Planned implements PhaseSpec.
func (s *Slow) Planned() time.Duration { return s.Duration.D() }

// MaxConnections implements PhaseSpec.
func (s *Slow) MaxConnections() int { return s.Connections }

func (s *Slow) scale(f func(*Duration)) { f(&s.Duration) }

func (s *Slow) validate(v *validator, k string) {
	v.positive(k+".connections", s.Connections, "slow clients")
	v.atMost(k+".connections", s.Connections, MaxConnections)
	v.positiveDuration(k+".duration", s.Duration)
	v.target(k+".target", s.Target)
	v.enum(k+".mode", s.Mode, "headers", "body", "read")
}

func (s *Slow) shard(g Segment) bool { return g.count(&s.Connections) }
