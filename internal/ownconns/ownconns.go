// Package ownconns keeps the TCP connections soak dials itself (its load
// client's, its probers'), open or closed lately, so a node's sampler can
// tell soak's own closed ends from the node's. A TIME_WAIT socket has no fd
// and no owner left: its 4-tuple is all a socket dump shows, and a layer
// rule naming a node's port (a proxy's layer to its target) also matches
// soak's load client's closed connections to that port.
package ownconns

import (
	"hash/maphash"
	"net"
	"net/netip"
	"slices"
	"sync"
	"time"
)

// DefaultLinger is how long a closed connection stays known: as long as
// its socket may still be listed. A side that closes first waits in
// FIN_WAIT2 for up to tcp_fin_timeout (60 s by default), then in TIME_WAIT
// for 60 s (TCP_TIMEWAIT_LEN, fixed in Linux).
const DefaultLinger = 2 * time.Minute

// gens is how many generations the linger is cut into: a closed
// connection is known for at least the linger and at most linger/gens more.
const gens = 4

// Set is the 4-tuples (local, remote) of connections soak dialled: those
// open, and those closed within the linger. Memory is bounded by the
// dialling rate: a tuple is kept as a 64-bit hash (8 bytes once its
// generation is sealed into a sorted slice) and dropped after the linger,
// so 5,000 dials a second keep about 750,000 hashes in 9 MiB of heap
// (BenchmarkChurn; a map of 4-tuple to close time: 96 MiB). Two tuples
// whose hashes collide (about n/2^64 per lookup) read as one.
// Safe for concurrent use; a nil *Set holds nothing.
type Set struct {
	linger time.Duration
	now    func() time.Time
	seed   maphash.Seed

	mu   sync.RWMutex
	open map[uint64]int32 // tuples open now (a count: a hash may be dialled twice)
	cur  gen              // closes since cur.start, not yet sealed
	// sealed are older generations, oldest first: sorted hashes and the
	// last close in each.
	sealed []sealedGen
}

type gen struct {
	keys        map[uint64]struct{}
	start, last time.Time
}

type sealedGen struct {
	keys []uint64
	last time.Time
}

// New returns an empty set keeping closed connections for linger (0:
// DefaultLinger).
func New(linger time.Duration) *Set {
	if linger <= 0 {
		linger = DefaultLinger
	}
	return &Set{linger: linger, now: time.Now, seed: maphash.MakeSeed(),
		open: map[uint64]int32{}, cur: gen{keys: map[uint64]struct{}{}}}
}

// Dialled records a connection soak opened from local to remote.
func (s *Set) Dialled(local, remote netip.AddrPort) {
	if s == nil {
		return
	}
	h := s.hash(local, remote)
	s.mu.Lock()
	s.open[h]++
	s.mu.Unlock()
}

// Closed records that the connection from local to remote was closed now;
// it stays known for the linger.
func (s *Set) Closed(local, remote netip.AddrPort) {
	if s == nil {
		return
	}
	h := s.hash(local, remote)
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if n := s.open[h]; n > 1 {
		s.open[h] = n - 1
	} else {
		delete(s.open, h)
	}
	s.rotate(now)
	if len(s.cur.keys) == 0 {
		s.cur.start = now
	}
	s.cur.keys[h] = struct{}{}
	s.cur.last = now
}

// Has says whether soak dialled from local to remote: the connection is
// open, or closed within the linger.
func (s *Set) Has(local, remote netip.AddrPort) bool {
	if s == nil {
		return false
	}
	h := s.hash(local, remote)
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.open[h] > 0 {
		return true
	}
	if len(s.cur.keys) == 0 && len(s.sealed) == 0 {
		return false // the clock is read only when closes are kept
	}
	// A generation whose last close is older than the linger is stale
	// (rotate drops it at the next close): skipped, not trusted.
	now := s.now()
	if _, ok := s.cur.keys[h]; ok && now.Sub(s.cur.last) <= s.linger {
		return true
	}
	for _, g := range s.sealed {
		if now.Sub(g.last) > s.linger {
			continue
		}
		if _, ok := slices.BinarySearch(g.keys, h); ok {
			return true
		}
	}
	return false
}

// Len returns how many tuples the set holds: open, and closed (stale
// generations not yet dropped included).
func (s *Set) Len() (open, closed int) {
	if s == nil {
		return 0, 0
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	closed = len(s.cur.keys)
	for _, g := range s.sealed {
		closed += len(g.keys)
	}
	return len(s.open), closed
}

// Track records c, a TCP connection soak dialled, and returns it wrapped
// so that its Close marks it closed. A nil set returns c as it is.
func (s *Set) Track(c net.Conn) net.Conn {
	if s == nil {
		return c
	}
	l, r := AddrPort(c.LocalAddr()), AddrPort(c.RemoteAddr())
	s.Dialled(l, r)
	return &conn{Conn: c, s: s, local: l, remote: r}
}

// conn marks its connection closed in the set once, when closed.
type conn struct {
	net.Conn
	s             *Set
	local, remote netip.AddrPort
	once          sync.Once
}

func (c *conn) Close() error {
	c.once.Do(func() { c.s.Closed(c.local, c.remote) })
	return c.Conn.Close()
}

// rotate seals the current generation once it spans linger/gens, into a
// sorted slice of exactly its size, and drops generations whose last close
// is older than the linger; mu is held.
func (s *Set) rotate(now time.Time) {
	if len(s.cur.keys) > 0 && now.Sub(s.cur.start) >= s.linger/gens {
		keys := make([]uint64, 0, len(s.cur.keys))
		for h := range s.cur.keys {
			keys = append(keys, h)
		}
		slices.Sort(keys)
		s.sealed = append(s.sealed, sealedGen{keys: keys, last: s.cur.last})
		// A new map, not clear(): a cleared map keeps the buckets of
		// its largest generation.
		s.cur = gen{keys: make(map[uint64]struct{}, len(keys))}
	}
	drop := 0
	for drop < len(s.sealed) && now.Sub(s.sealed[drop].last) > s.linger {
		drop++
	}
	if drop > 0 {
		s.sealed = slices.Delete(s.sealed, 0, drop)
	}
}

// hash keys a tuple: both addresses in their 16-byte form (an IPv4 address
// and its IPv4-mapped IPv6 form are one) and both ports.
func (s *Set) hash(local, remote netip.AddrPort) uint64 {
	return maphash.Comparable(s.seed, tuple{local.Addr().As16(), remote.Addr().As16(), local.Port(), remote.Port()})
}

type tuple struct {
	local, remote         [16]byte
	localPort, remotePort uint16
}

// AddrPort is a TCP address as a netip.AddrPort (the zero one for
// another kind of address), IPv4-mapped IPv6 addresses unmapped as
// socket dumps give them.
func AddrPort(a net.Addr) netip.AddrPort {
	if ta, ok := a.(*net.TCPAddr); ok {
		ap := ta.AddrPort()
		return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
	}
	return netip.AddrPort{}
}
