package scenarios

import "time"

// Burst sends Count requests as fast as Connections allow, Bursts times,
// with Pause between bursts.
type Burst struct {
	Requests `yaml:",inline" json:",inline"`
	Count    int      `yaml:"count" json:"count"`
	Bursts   int      `yaml:"bursts,omitempty" json:"bursts,omitempty"` // default 1
	Pause    Duration `yaml:"pause,omitempty" json:"pause,omitempty"`
	// Rate caps the rate inside a burst. Default 0: as fast as possible.
	Rate Rate `yaml:"rate,omitempty" json:"rate,omitempty"`
}

var _ PhaseSpec = (*Burst)(nil)

// Kind implements PhaseSpec.
func (*Burst) Kind() string { return "burst" }

// Planned implements PhaseSpec: the pauses only, since the bursts' length
// depends on the SUT.
func (b *Burst) Planned() time.Duration {
	return satMulDur(max(b.Bursts, 1)-1, b.Pause.D())
}

// MaxConnections implements PhaseSpec.
func (b *Burst) MaxConnections() int { return b.Requests.connections() }

func (b *Burst) scale(f func(*Duration)) { f(&b.Pause) }

func (b *Burst) validate(v *validator, k string) {
	b.Requests.validate(v, k)
	v.positive(k+".count", b.Count, "requests per burst")
	v.atMost(k+".count", b.Count, MaxCount)
	v.count(k+".bursts", b.Bursts, MaxCount)
}

// shard splits the requests per burst, the open-connection cap and an
// in-burst rate cap (at least 1/PER: 0 would lift the cap).
func (b *Burst) shard(g Segment) bool {
	b.Requests.shard(g)
	if b.Rate.Freq > 0 {
		b.Rate.Freq = max(g.Part(b.Rate.Freq), 1)
	}
	return g.count(&b.Count)
}
