package scenarios

import "time"

// Abandon opens connections, sends a partial request (or nothing) and
// vanishes without closing.
type Abandon struct {
	Connections int      `yaml:"connections" json:"connections"`
	Duration    Duration `yaml:"duration" json:"duration"`
	// Send is what each connection sends before going silent: "nothing",
	// "partial-headers" (default) or "partial-body".
	Send   string `yaml:"send,omitempty" json:"send,omitempty"`
	Target string `yaml:"target,omitempty" json:"target,omitempty"`
}

var _ PhaseSpec = (*Abandon)(nil)

// Kind implements PhaseSpec.
func (*Abandon) Kind() string { return "abandon" }

// Planned implements PhaseSpec.
func (a *Abandon) Planned() time.Duration { return a.Duration.D() }

// MaxConnections implements PhaseSpec.
func (a *Abandon) MaxConnections() int { return a.Connections }

func (a *Abandon) scale(f func(*Duration)) { f(&a.Duration) }

func (a *Abandon) validate(v *validator, k string) {
	v.positive(k+".connections", a.Connections, "connections to abandon")
	v.atMost(k+".connections", a.Connections, MaxConnections)
	v.positiveDuration(k+".duration", a.Duration)
	v.target(k+".target", a.Target)
	v.enum(k+".send", a.Send, "nothing", "partial-headers", "partial-body")
}

func (a *Abandon) shard(g Segment) bool { return g.count(&a.Connections) }
