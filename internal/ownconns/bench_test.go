package ownconns

import (
	"net/netip"
	"runtime"
	"testing"
	"time"
)

// churnRate is the dialling rate the benchmarks simulate (a churn phase).
const churnRate = 5000

// tupleAt is the i-th connection of a churn: local ports cycle through the
// ephemeral range, on 127.0.0.x, to one remote.
func tupleAt(i int) (netip.AddrPort, netip.AddrPort) {
	a := [4]byte{127, 0, 0, byte(1 + i/28000%250)}
	return netip.AddrPortFrom(netip.AddrFrom4(a), uint16(32768+i%28000)), target
}

// mapSet is the baseline: what probes/fetch.go kept before, a map of
// address to close time, pruned by a scan (once a simulated second).
type mapSet struct {
	m     map[[2]netip.AddrPort]time.Time
	prune time.Time
}

func (m *mapSet) dialled(l, r netip.AddrPort) { m.m[[2]netip.AddrPort{l, r}] = time.Time{} }
func (m *mapSet) closed(l, r netip.AddrPort, now time.Time) {
	m.m[[2]netip.AddrPort{l, r}] = now
	if now.Sub(m.prune) >= time.Second {
		for k, t := range m.m {
			if !t.IsZero() && now.Sub(t) > DefaultLinger {
				delete(m.m, k)
			}
		}
		m.prune = now
	}
}
func (m *mapSet) has(l, r netip.AddrPort, now time.Time) bool {
	t, ok := m.m[[2]netip.AddrPort{l, r}]
	return ok && (t.IsZero() || now.Sub(t) <= DefaultLinger)
}

// BenchmarkChurn dials and closes connections at churnRate a second of a
// fake clock, after three simulated minutes of the same (the linger and
// more: the steady state), and reports the set's live heap and entries in
// that state; "has" is one lookup of a tuple the set holds and one of a
// tuple it does not.
func BenchmarkChurn(b *testing.B) {
	const warm = 3 * 60 * churnRate
	dt := time.Second / churnRate
	b.Run("set", func(b *testing.B) {
		before := heap()
		s, c := newTestSet(DefaultLinger)
		for i := range warm {
			l, r := tupleAt(i)
			s.Dialled(l, r)
			s.Closed(l, r)
			c.add(dt)
		}
		after := heap()
		_, n := s.Len()
		i := warm
		for b.Loop() {
			l, r := tupleAt(i)
			s.Dialled(l, r)
			s.Closed(l, r)
			c.add(dt)
			i++
		}
		b.ReportMetric(float64(n), "entries")
		b.ReportMetric(float64(after-before)/(1<<20), "heap-MiB")
		runtime.KeepAlive(s)
	})
	b.Run("map", func(b *testing.B) {
		before := heap()
		c := &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
		m := &mapSet{m: map[[2]netip.AddrPort]time.Time{}}
		for i := range warm {
			l, r := tupleAt(i)
			m.dialled(l, r)
			m.closed(l, r, c.t)
			c.add(dt)
		}
		after, n := heap(), len(m.m)
		i := warm
		for b.Loop() {
			l, r := tupleAt(i)
			m.dialled(l, r)
			m.closed(l, r, c.t)
			c.add(dt)
			i++
		}
		b.ReportMetric(float64(n), "entries")
		b.ReportMetric(float64(after-before)/(1<<20), "heap-MiB")
		runtime.KeepAlive(m)
	})
	b.Run("set-has", func(b *testing.B) {
		s, c := newTestSet(DefaultLinger)
		for i := range warm {
			l, r := tupleAt(i)
			s.Dialled(l, r)
			s.Closed(l, r)
			c.add(dt)
		}
		l, r := tupleAt(warm - 100*churnRate) // closed 100 s ago: a sealed generation
		for b.Loop() {
			if !s.Has(l, r) || s.Has(r, l) {
				b.Fatal("wrong answer")
			}
		}
	})
	b.Run("map-has", func(b *testing.B) {
		c := &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
		m := &mapSet{m: map[[2]netip.AddrPort]time.Time{}}
		for i := range warm {
			l, r := tupleAt(i)
			m.dialled(l, r)
			m.closed(l, r, c.t)
			c.add(dt)
		}
		l, r := tupleAt(warm - 100*churnRate)
		for b.Loop() {
			if !m.has(l, r, c.t) || m.has(r, l, c.t) {
				b.Fatal("wrong answer")
			}
		}
	})
}

func heap() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}
