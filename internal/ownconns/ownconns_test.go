package ownconns

import (
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// clock is a fake time the test moves.
type clock struct{ t time.Time }

func (c *clock) now() time.Time      { return c.t }
func (c *clock) add(d time.Duration) { c.t = c.t.Add(d) }
func newTestSet(linger time.Duration) (*Set, *clock) {
	c := &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	s := New(linger)
	s.now = c.now
	return s, c
}

var (
	load   = netip.MustParseAddrPort("127.0.0.1:40001")
	target = netip.MustParseAddrPort("127.0.0.1:8081")
	proxy  = netip.MustParseAddrPort("127.0.0.1:8080")
)

// TestLife follows one tuple through its life: known while open, known
// within the linger after its close, forgotten after it; never the
// reverse tuple (the peer's end) nor the same local end to another peer.
func TestLife(t *testing.T) {
	s, c := newTestSet(time.Minute)
	step := time.Minute / gens
	type probe struct {
		local, remote netip.AddrPort
		want          bool
	}
	for _, tc := range []struct {
		name   string
		do     func()
		probes []probe
	}{
		{name: "unknown", do: func() {}, probes: []probe{{load, target, false}}},
		{name: "open", do: func() { s.Dialled(load, target) }, probes: []probe{
			{load, target, true},
			{target, load, false}, // the node's accepted end of soak's connection
			{load, proxy, false},  // the same local port dialled to another peer (by the node)
			{netip.MustParseAddrPort("[::ffff:127.0.0.1]:40001"), target, true},
		}},
		{name: "just closed", do: func() { s.Closed(load, target) }, probes: []probe{{load, target, true}}},
		{name: "within the linger", do: func() { c.add(time.Minute) }, probes: []probe{{load, target, true}}},
		{name: "after the linger, not yet pruned", do: func() { c.add(time.Second) }, probes: []probe{{load, target, false}}},
		{name: "pruned by a later close", do: func() {
			c.add(step)
			s.Dialled(proxy, target)
			s.Closed(proxy, target)
		}, probes: []probe{{load, target, false}, {proxy, target, true}}},
	} {
		tc.do()
		for _, p := range tc.probes {
			if got := s.Has(p.local, p.remote); got != p.want {
				t.Errorf("%s: Has(%v, %v) = %v, want %v", tc.name, p.local, p.remote, got, p.want)
			}
		}
	}
	if open, closed := s.Len(); open != 0 || closed != 1 {
		t.Errorf("Len = %d open, %d closed; want 0, 1 (the first close pruned)", open, closed)
	}
}

// TestSealedGenerations keeps closes across several generations: every
// one is known for the whole linger, whichever generation holds it, and
// the set shrinks back once they are older.
func TestSealedGenerations(t *testing.T) {
	s, c := newTestSet(time.Minute)
	var tuples []netip.AddrPort
	for i := range 100 {
		ap := netip.AddrPortFrom(load.Addr(), uint16(30000+i))
		tuples = append(tuples, ap)
		s.Dialled(ap, target)
		s.Closed(ap, target)
		c.add(time.Second / 2) // 50 s in all: four generations of 15 s
	}
	if len(s.sealed) < 3 {
		t.Fatalf("%d sealed generations, want at least 3", len(s.sealed))
	}
	for _, ap := range tuples {
		if !s.Has(ap, target) {
			t.Fatalf("Has(%v) = false within the linger", ap)
		}
	}
	c.add(time.Minute + time.Minute/gens)
	s.Dialled(proxy, target)
	s.Closed(proxy, target)
	for _, ap := range tuples {
		if s.Has(ap, target) {
			t.Fatalf("Has(%v) = true after the linger", ap)
		}
	}
	if open, closed := s.Len(); open != 0 || closed != 1 {
		t.Errorf("Len = %d open, %d closed; want 0, 1", open, closed)
	}
}

// TestOpenStaysKnown: an open connection is known however long it lives;
// a tuple dialled twice (a hash met twice) stays open until both close.
func TestOpenStaysKnown(t *testing.T) {
	s, c := newTestSet(time.Minute)
	s.Dialled(load, target)
	s.Dialled(load, target)
	for range 10 {
		c.add(time.Minute)
		s.Dialled(proxy, target)
		s.Closed(proxy, target)
	}
	s.Closed(load, target)
	c.add(2 * time.Minute)
	if !s.Has(load, target) {
		t.Error("a tuple dialled twice and closed once is not known")
	}
}

func TestNilSet(t *testing.T) {
	var s *Set
	s.Dialled(load, target)
	s.Closed(load, target)
	if s.Has(load, target) {
		t.Error("a nil set has a tuple")
	}
	if o, c := s.Len(); o != 0 || c != 0 {
		t.Errorf("nil Len = %d, %d", o, c)
	}
}

// TestConcurrent runs dialers and readers at once (for -race).
func TestConcurrent(t *testing.T) {
	s := New(time.Minute)
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := range 2000 {
				ap := netip.AddrPortFrom(load.Addr(), uint16(10000*w+i))
				s.Dialled(ap, target)
				if !s.Has(ap, target) {
					t.Errorf("Has(%v) = false while open", ap)
					return
				}
				s.Closed(ap, target)
			}
		})
	}
	wg.Wait()
	if open, closed := s.Len(); open != 0 || closed != 8000 {
		t.Errorf("Len = %d open, %d closed; want 0, 8000", open, closed)
	}
}

// TestTrack: a tracked connection is known open and after its close (the
// second close changes nothing); its peer's end is not soak's.
func TestTrack(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err == nil {
			accepted <- c
		}
		close(accepted)
	}()
	raw, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	if peer := <-accepted; peer != nil {
		defer peer.Close()
	}
	s := New(0)
	c := s.Track(raw)
	l, r := AddrPort(raw.LocalAddr()), AddrPort(raw.RemoteAddr())
	if !s.Has(l, r) || s.Has(r, l) {
		t.Errorf("open: Has %v, reverse %v; want true, false", s.Has(l, r), s.Has(r, l))
	}
	c.Close()
	c.Close()
	if open, closed := s.Len(); !s.Has(l, r) || open != 0 || closed != 1 {
		t.Errorf("closed: Has %v, %d open, %d closed; want true, 0, 1", s.Has(l, r), open, closed)
	}
	var none *Set
	if none.Track(raw) != raw {
		t.Error("a nil set wrapped the connection")
	}
}
