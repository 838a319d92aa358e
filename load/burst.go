package load

import "github.com/soak-dev/soak/scenarios"

func init() { register(newBurst) }

// newBurst: Count requests as fast as allowed, Bursts times, Pause apart.
func newBurst(b *scenarios.Burst) *attackPhase {
	n := max(b.Bursts, 1)
	a := &attackPhase{kind: b.Kind(), req: b.Requests, keepAlive: true}
	for i := 0; i < n; i++ {
		st := attackStep{pacer: CountPacer{Count: uint64(max(b.Count, 0)), Cap: vrate(b.Rate)}}
		if i > 0 {
			st.pause = b.Pause.D()
		}
		a.steps = append(a.steps, st)
	}
	return a
}
