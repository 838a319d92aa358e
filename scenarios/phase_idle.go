package scenarios

import "time"

// Idle opens Connections keep-alive connections, makes one request on each,
// then holds them silent for Duration.
type Idle struct {
	Connections int      `yaml:"connections" json:"connections"`
	Duration    Duration `yaml:"duration" json:"duration"`
	// Target is the request made on each connection. Default "GET /".
	Target string `yaml:"target,omitempty" json:"target,omitempty"`
	// ProbeReuse sends one more request on each after the hold and counts
	// how many found their connection closed by the server.
	ProbeReuse bool `yaml:"probe_reuse,omitempty" json:"probe_reuse,omitempty"`
	// OpenRate caps how fast connections are opened. Default 0: as fast as possible.
	OpenRate Rate `yaml:"open_rate,omitempty" json:"open_rate,omitempty"`
}

var _ PhaseSpec = (*Idle)(nil)

// Kind implements PhaseSpec.
func (*Idle) Kind() string { return "idle" }

// Planned implements PhaseSpec.
func (i *Idle) Planned() time.Duration { return i.Duration.D() }

// MaxConnections implements PhaseSpec.
func (i *Idle) MaxConnections() int { return i.Connections }

func (i *Idle) scale(f func(*Duration)) { f(&i.Duration) }

func (i *Idle) validate(v *validator, k string) {
	v.positive(k+".connections", i.Connections, "connections to hold")
	v.atMost(k+".connections", i.Connections, MaxConnections)
	v.positiveDuration(k+".duration", i.Duration)
	v.target(k+".target", i.Target)
}
