package scenarios

import "time"

// Quiet puts no load for Duration: the window in which idle timeouts act.
type Quiet struct {
	Duration Duration `yaml:"duration" json:"duration"`
}

var _ PhaseSpec = (*Quiet)(nil)

// Kind implements PhaseSpec.
func (*Quiet) Kind() string { return "quiet" }

// Planned implements PhaseSpec.
func (q *Quiet) Planned() time.Duration { return q.Duration.D() }

// MaxConnections implements PhaseSpec: none, quiet opens nothing.
func (*Quiet) MaxConnections() int { return 0 }

func (q *Quiet) scale(f func(*Duration)) { f(&q.Duration) }

func (q *Quiet) validate(v *validator, k string) {
	v.positiveDuration(k+".duration", q.Duration)
}

func (*Quiet) shard(Segment) bool { return true }
