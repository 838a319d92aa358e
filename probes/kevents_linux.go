package probes

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/btf"
	"github.com/cilium/ebpf/link"
	"github.com/cilium/ebpf/ringbuf"
	"github.com/soak-dev/soak/record"
	"golang.org/x/sys/unix"
)

// DefaultEventRing is the size of the kernel event witness's ring buffer:
// 4 MiB holds 52,000 events, a quarter of a second at 100,000 connections
// a second (three events each), should soak's reader fall behind that long.
const DefaultEventRing = 4 << 20

// kernelEvents is the kernel event witness: a BPF program on
// inet_sock_set_state sends the opens, first FINs and closes of the
// layers' sockets in the SUT's network namespace through a ring buffer,
// and a goroutine turns them into one exact record.Conn per connection
// (witness kernel-events). Safe for concurrent use.
type kernelEvents struct {
	node     string
	interval time.Duration // a connection shorter than this is counted as short
	layers   layerSet
	msPerJ   int64     // milliseconds per jiffy
	wall     time.Time // the wall clock at mono 0 (boot), for event times
	ports    map[uint32]bool
	listen   []uint16 // the node's listening ports in the port map (kevListenKey)
	// own says whether a socket (local, remote) is either end of one of
	// the prober's connections to the node (soak's, left out as polling
	// does); nil when the sampler fetches nothing. Called with mu held.
	own func(local, remote netip.AddrPort) bool

	prog             *ebpf.Program
	events, pm, lost *ebpf.Map
	seen             *ebpf.Map // socket storage: the sockets followed
	link             link.Link
	rd               *ringbuf.Reader
	done             chan struct{}

	mu   sync.Mutex
	open map[uint64]*kconn // by the kernel's socket address
	// tuples are the node's connections by 4-tuple: open ones (0) and
	// those closed in the last kevKnownTakes takes (the take they closed
	// in), for polling to tell the node's ownerless sockets (TIME_WAIT)
	// from soak's. The tracker knows a socket from its first dump on, so
	// a few ticks are enough.
	tuples map[connKey]uint64
	takes  uint64
	ended  []record.Conn
	stats  record.EventStats
	err    string // why the reader stopped, if it did
	closed bool
}

// kconn is what the witness keeps of one open connection.
type kconn struct {
	layer, side   string
	local, remote netip.AddrPort
	opened        time.Time
	finAt         time.Time // the first FIN, either side
	closer        string
	idleMs        int64 // at the first FIN
	own           bool  // the prober's own connection: followed, never reported
}

// kevent is one decoded ring buffer record.
type kevent struct {
	sk                 uint64
	mono               time.Duration
	bytesIn, bytesOut  uint64
	idleSndJ, idleRcvJ uint32
	local, remote      netip.AddrPort
	oldState, newState uint8
	peerFIN            bool // the peer's FIN arrived
}

// openKernelEvents loads and attaches the witness for a process (owner) in
// network namespace netns (its inode) with these layer rules. A nil error
// means events flow; the error says why not (permissions, BTF, tracepoint).
func openKernelEvents(node string, netns uint32, owner kevOwner, rules []LayerRule, interval time.Duration, ringSize int) (*kernelEvents, error) {
	k := &kernelEvents{node: node, interval: interval, layers: newLayerSet(rules),
		ports: map[uint32]bool{}, open: map[uint64]*kconn{}, tuples: map[connKey]uint64{}, done: make(chan struct{})}
	for _, r := range rules {
		for _, p := range r.LocalPorts {
			k.ports[uint32(p)] = true
		}
		for _, p := range r.RemotePorts {
			k.ports[uint32(p)|kevRemoteKey] = true
		}
	}
	if len(k.ports) == 0 {
		return nil, errors.New("kernel events: no layer ports to filter on")
	}
	off, hz, err := keventOffsets()
	if err != nil {
		return nil, fmt.Errorf("kernel events: %w", err)
	}
	k.msPerJ = int64(1000 / hz)
	if err := k.load(off, netns, owner.tgid, ringSize); err != nil {
		k.release()
		return nil, fmt.Errorf("kernel events: %w", err)
	}
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts); err != nil {
		k.release()
		return nil, fmt.Errorf("kernel events: read the monotonic clock: %w", err)
	}
	k.wall = time.Now().Add(-time.Duration(ts.Nano()))
	if err := k.setListen(owner.listen); err != nil {
		k.release()
		return nil, fmt.Errorf("kernel events: %w", err)
	}
	k.stats.Witness = record.WitnessKernelEvents
	k.own = owner.prober // before the reader starts: it reads k.own
	go k.read()
	return k, nil
}

func (k *kernelEvents) load(off sockOffsets, netns uint32, tgid, ringSize int) error {
	var err error
	if k.events, err = ebpf.NewMap(&ebpf.MapSpec{Name: "soak_kev_ring", Type: ebpf.RingBuf, MaxEntries: uint32(ringSize)}); err != nil {
		return bpfLoadError("ring buffer", err)
	}
	if k.pm, err = ebpf.NewMap(&ebpf.MapSpec{Name: "soak_kev_ports", Type: ebpf.Hash, KeySize: 4, ValueSize: 1,
		MaxEntries: uint32(len(k.ports) + maxListenPorts)}); err != nil {
		return bpfLoadError("port map", err)
	}
	for p := range k.ports {
		if err := k.pm.Put(p, uint8(1)); err != nil {
			return fmt.Errorf("fill port map: %w", err)
		}
	}
	// Socket storage lives and dies with each socket: no table to size,
	// nothing left behind by a close whose event was lost.
	if k.seen, err = ebpf.NewMap(&ebpf.MapSpec{Name: "soak_kev_seen", Type: ebpf.SkStorage, KeySize: 4, ValueSize: 1,
		Flags: unix.BPF_F_NO_PREALLOC, Key: &btf.Int{Size: 4}, Value: &btf.Int{Size: 1}}); err != nil {
		return bpfLoadError("socket storage", err)
	}
	if k.lost, err = ebpf.NewMap(&ebpf.MapSpec{Name: "soak_kev_lost", Type: ebpf.Array, KeySize: 4, ValueSize: 8, MaxEntries: 1}); err != nil {
		return bpfLoadError("lost counter", err)
	}
	k.prog, err = ebpf.NewProgram(&ebpf.ProgramSpec{
		Name:       "soak_kevents",
		Type:       ebpf.Tracing,
		AttachType: ebpf.AttachTraceRawTp,
		AttachTo:   "inet_sock_set_state",
		// bpf_skc_to_tcp_sock and the ring buffer want a GPL-compatible license.
		License:      "Dual MIT/GPL",
		Instructions: keventProgram(off, netns, tgid, k.events, k.pm, k.seen, k.lost, ringSize),
	})
	if err != nil {
		return bpfLoadError("tracepoint program", err)
	}
	if k.link, err = link.AttachTracing(link.TracingOptions{Program: k.prog, AttachType: ebpf.AttachTraceRawTp}); err != nil {
		return fmt.Errorf("attach tp_btf/inet_sock_set_state: %w", err)
	}
	if k.rd, err = ringbuf.NewReader(k.events); err != nil {
		return fmt.Errorf("read ring buffer: %w", err)
	}
	return nil
}

// setListen makes the port map's listening ports those the node listens on
// now: the witness follows connections accepted on them. Called by one
// goroutine (the sampler's), as ticks learn the node's listeners.
func (k *kernelEvents) setListen(ports []uint16) error {
	if len(ports) > maxListenPorts {
		return fmt.Errorf("node listens on %d ports, the witness follows at most %d", len(ports), maxListenPorts)
	}
	for _, p := range k.listen {
		if !slices.Contains(ports, p) {
			if err := k.pm.Delete(uint32(p) | kevListenKey); err != nil && !errors.Is(err, ebpf.ErrKeyNotExist) {
				return fmt.Errorf("port map: %w", err)
			}
		}
	}
	for _, p := range ports {
		if !slices.Contains(k.listen, p) {
			if err := k.pm.Put(uint32(p)|kevListenKey, uint8(1)); err != nil {
				return fmt.Errorf("port map: %w", err)
			}
		}
	}
	k.listen = append(k.listen[:0], ports...)
	return nil
}

func (k *kernelEvents) release() {
	if k.link != nil {
		k.link.Close()
	}
	for _, m := range []*ebpf.Map{k.pm, k.seen, k.lost, k.events} {
		if m != nil {
			m.Close()
		}
	}
	if k.prog != nil {
		k.prog.Close()
	}
}

// maxPendingConns bounds the ended connections waiting for a sample to
// take them (the exporter samples only when scraped, and may not be):
// about 25 MiB. Beyond it they are counted as dropped, never kept.
const maxPendingConns = 100_000

// kevReadEvery is how often the reader drains the ring when the kernel
// has not woken it (it does once a quarter of the ring is full).
const kevReadEvery = 100 * time.Millisecond

// read turns records into connections until the reader is closed.
func (k *kernelEvents) read() {
	defer close(k.done)
	var rec ringbuf.Record
	k.rd.SetDeadline(time.Now().Add(kevReadEvery))
	for {
		if err := k.rd.ReadInto(&rec); err != nil {
			if errors.Is(err, os.ErrDeadlineExceeded) {
				k.rd.SetDeadline(time.Now().Add(kevReadEvery))
				continue
			}
			if errors.Is(err, ringbuf.ErrFlushed) {
				return // close asked: the ring is drained
			}
			if !errors.Is(err, os.ErrClosed) {
				k.mu.Lock()
				k.err = "read ring buffer: " + err.Error()
				k.mu.Unlock()
			}
			return
		}
		ev, ok := decodeKevent(rec.RawSample)
		if !ok {
			continue
		}
		k.mu.Lock()
		k.apply(ev)
		k.mu.Unlock()
	}
}

// decodeKevent reads a record written by keventProgram.
func decodeKevent(b []byte) (kevent, bool) {
	if len(b) < keventLen {
		return kevent{}, false
	}
	le := binary.NativeEndian
	ev := kevent{sk: le.Uint64(b), mono: time.Duration(le.Uint64(b[8:])),
		bytesIn: le.Uint64(b[16:]), bytesOut: le.Uint64(b[24:]),
		idleSndJ: le.Uint32(b[32:]), idleRcvJ: le.Uint32(b[36:]),
		oldState: b[46], newState: b[47], peerFIN: b[45] != 0}
	lport, rport := le.Uint16(b[40:]), binary.BigEndian.Uint16(b[42:])
	var la, ra netip.Addr
	switch b[44] {
	case unix.AF_INET:
		la, ra = netip.AddrFrom4([4]byte(b[48:52])), netip.AddrFrom4([4]byte(b[64:68]))
	case unix.AF_INET6:
		la, ra = netip.AddrFrom16([16]byte(b[48:64])).Unmap(), netip.AddrFrom16([16]byte(b[64:80])).Unmap()
	default:
		return kevent{}, false
	}
	ev.local, ev.remote = netip.AddrPortFrom(la, lport), netip.AddrPortFrom(ra, rport)
	return ev, true
}

// apply updates the table with one event; k.mu is held.
func (k *kernelEvents) apply(ev kevent) {
	at := k.wall.Add(ev.mono)
	c := k.open[ev.sk]
	switch ev.newState {
	case tcpEstablished:
		if c != nil {
			// The socket's close was lost (a full ring): it ended unseen.
			k.stats.Unseen++
		}
		side := record.SideServer
		if ev.oldState == tcpSynSent {
			side = record.SideClient
		}
		c = &kconn{layer: k.layers.match(int(ev.local.Port()), int(ev.remote.Port())),
			side: side, local: ev.local, remote: ev.remote, opened: at}
		k.open[ev.sk] = c
		if c.own = k.isOwn(c); !c.own {
			k.stats.Opened++
			k.tuples[connKey{c.local, c.remote}] = 0
		}
	case tcpFinWait1, tcpCloseWait:
		if c == nil || !c.finAt.IsZero() {
			return
		}
		c.finAt, c.idleMs = at, k.idleMs(ev)
		c.closer = c.side
		if ev.newState == tcpCloseWait {
			c.closer = otherSide(c.side)
		}
	case tcpClose:
		if c == nil {
			k.stats.Unseen++
			return
		}
		delete(k.open, ev.sk)
		if c.own {
			return
		}
		if k.isOwn(c) {
			// The prober's dial returned after its open was read.
			k.stats.Opened--
			delete(k.tuples, connKey{c.local, c.remote})
			return
		}
		if len(k.tuples) < maxKnownTuples {
			k.tuples[connKey{c.local, c.remote}] = k.takes + 1
		} else {
			delete(k.tuples, connKey{c.local, c.remote})
		}
		k.stats.Closed++
		cn := c.conn(k.node, at)
		// The kernel counts a FIN as a byte of the stream: taken off.
		cn.BytesIn, cn.BytesOut = int64(ev.bytesIn), int64(ev.bytesOut)
		if ev.peerFIN && cn.BytesIn > 0 {
			cn.BytesIn--
		}
		if ownFINAcked(ev.oldState) && cn.BytesOut > 0 {
			cn.BytesOut--
		}
		if c.finAt.IsZero() {
			// No FIN: a reset (sent or received) or an abort.
			cn.IdleBeforeCloseMs, cn.ClosedBy = k.idleMs(ev), record.ClosedByUnknown
			cn.LastState = stateName(ev.oldState)
		}
		cn.MaxIdleMs = cn.IdleBeforeCloseMs
		if cn.Closed.Sub(cn.Opened) < k.interval {
			k.stats.Short++
		}
		if len(k.ended) >= maxPendingConns {
			k.stats.Dropped++
			return
		}
		k.ended = append(k.ended, cn)
	}
}

// isOwn says whether c is one of the prober's own connections; mu is held.
func (k *kernelEvents) isOwn(c *kconn) bool {
	return k.own != nil && k.own(c.local, c.remote)
}

// ownFINAcked says whether a socket closing from this state had its FIN acknowledged.
func ownFINAcked(st uint8) bool {
	return st == tcpFinWait2 || st == tcpLastAck || st == tcpClosing || st == tcpTimeWait
}

// idleMs is the time since the socket last sent or received data.
func (k *kernelEvents) idleMs(ev kevent) int64 {
	return int64(min(ev.idleSndJ, ev.idleRcvJ)) * k.msPerJ
}

func (c *kconn) conn(node string, closed time.Time) record.Conn {
	cn := record.Conn{Witness: record.WitnessKernelEvents, Source: node, Layer: c.layer, Side: c.side,
		Local: c.local.String(), Remote: c.remote.String(), Opened: c.opened, Closed: closed,
		IdleBeforeCloseMs: c.idleMs, ClosedBy: c.closer}
	if cn.Layer == "" {
		cn.Layer = record.LayerOther
	}
	if !closed.IsZero() && !c.finAt.IsZero() {
		cn.LastState = "FIN"
	}
	return cn
}

func otherSide(side string) string {
	if side == record.SideClient {
		return record.SideServer
	}
	return record.SideClient
}

// take returns the connections that ended since the last call, and the
// witness's counts so far.
func (k *kernelEvents) take() ([]record.Conn, record.EventStats) {
	var lost uint64
	if err := k.lost.Lookup(uint32(0), &lost); err == nil {
		k.mu.Lock()
		k.stats.Lost = int64(lost)
		k.mu.Unlock()
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	ended, st := k.ended, k.stats
	k.ended = nil
	k.takes++
	for key, closed := range k.tuples {
		if closed != 0 && closed+kevKnownTakes <= k.takes {
			delete(k.tuples, key)
		}
	}
	st.Error = k.err
	return ended, st
}

// kevKnownTakes is how many takes (ticks) a closed connection's tuple stays
// known to knows; maxKnownTuples bounds the tuples kept (an exporter
// scraped rarely under heavy churn): beyond it, closed ones are forgotten
// at once, and polling may miss some of the node's TIME_WAIT sockets.
const (
	kevKnownTakes  = 3
	maxKnownTuples = 200_000
)

// knows says whether the witness recorded key as one of the node's
// connections, open or closed in the last kevKnownTakes ticks.
func (k *kernelEvents) knows(key connKey) bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	_, ok := k.tuples[key]
	return ok
}

// live returns the connections open now (ss lists the same).
func (k *kernelEvents) live() []record.Conn {
	k.mu.Lock()
	defer k.mu.Unlock()
	out := make([]record.Conn, 0, len(k.open))
	for _, c := range k.open {
		if !c.own && !k.isOwn(c) {
			out = append(out, c.conn(k.node, time.Time{}))
		}
	}
	return out
}

// close detaches the program, waits for the reader, and returns the
// connections that ended meanwhile and those still open (OpenAtEnd).
func (k *kernelEvents) close() []record.Conn {
	k.mu.Lock()
	if k.closed {
		k.mu.Unlock()
		return nil
	}
	k.closed = true
	k.mu.Unlock()
	// Detach, then read what the ring still holds before closing it.
	k.link.Close()
	if k.rd.Flush() != nil {
		k.rd.Close()
	}
	<-k.done
	k.rd.Close()
	k.release()
	k.mu.Lock()
	defer k.mu.Unlock()
	out := k.ended
	k.ended = nil
	for sk, c := range k.open {
		delete(k.open, sk)
		if c.own || k.isOwn(c) {
			continue
		}
		cn := c.conn(k.node, time.Time{})
		cn.ClosedBy = record.OpenAtEnd
		if !c.finAt.IsZero() {
			cn.ClosedBy = c.closer
		}
		out = append(out, cn)
	}
	return out
}

// netnsInode parses "net:[4026531840]".
func netnsInode(ns string) (uint32, error) {
	s, ok := strings.CutPrefix(ns, "net:[")
	s, ok2 := strings.CutSuffix(s, "]")
	n, err := strconv.ParseUint(s, 10, 32)
	if !ok || !ok2 || err != nil {
		return 0, fmt.Errorf("network namespace %q: not net:[inode]", ns)
	}
	return uint32(n), nil
}

func init() { registerSource(stageEvents, "events", openEventSource) }

var _ source = (*eventSource)(nil)

// eventSource is the kernel event witness as a probe source: one exact
// record.Conn per connection of the target's layers, when KernelEvents
// asked for it (else the source is not opened).
type eventSource struct {
	kev     *kernelEvents // nil when polling only
	why     string        // why the witness does not run, when asked for
	lost    int64         // lost events already reported
	dropped int64         // dropped connections already reported
}

func openEventSource(s *Sampler) (source, error) {
	if s.events <= 0 {
		return nil, nil
	}
	var prober func(local, remote netip.AddrPort) bool
	if s.fetch != nil {
		prober = s.fetch.owns
	}
	kev, why := openEventWitness(s.root, s.target, s.sys.netns, s.events, s.forceProc, prober)
	return &eventSource{kev: kev, why: why}, nil
}

func (e *eventSource) start(context.Context, *tick) {}

func (e *eventSource) finish(_ context.Context, t *tick) {
	if e.kev == nil || t.gone {
		return
	}
	if t.listen != nil {
		if err := e.kev.setListen(t.listen); err != nil {
			t.out.Errors = append(t.out.Errors, "events: "+err.Error())
		}
	}
	conns, st := e.kev.take()
	t.ended = append(t.ended, conns...)
	t.out.Events = &st
	if st.Lost > e.lost {
		t.out.Errors = append(t.out.Errors, fmt.Sprintf("events: %d kernel events lost (ring buffer full), %d in all",
			st.Lost-e.lost, st.Lost))
		e.lost = st.Lost
	}
	if st.Dropped > e.dropped {
		t.out.Errors = append(t.out.Errors, fmt.Sprintf("events: %d closed connections dropped (more than %d waited for a sample), %d in all",
			st.Dropped-e.dropped, maxPendingConns, st.Dropped))
		e.dropped = st.Dropped
	}
}

func (e *eventSource) close() []record.Conn {
	if e.kev == nil {
		return nil
	}
	open := e.kev.close()
	e.kev = nil
	return open
}

// openEventWitness starts the kernel event witness, or says why not.
// prober says whether a socket is either end of one of the prober's
// connections (nil: none).
func openEventWitness(root procRoot, t Target, netns string, interval time.Duration, forceProc bool,
	prober func(local, remote netip.AddrPort) bool) (*kernelEvents, string) {
	if forceProc {
		return nil, "asked for polling only"
	}
	ino, err := netnsInode(netns)
	if err != nil {
		return nil, err.Error()
	}
	owner, err := nodeOwner(root, t.PID)
	if err != nil {
		return nil, "kernel events: " + err.Error()
	}
	owner.prober = prober
	k, err := openKernelEvents(t.Node, ino, owner, t.Layers, interval, DefaultEventRing)
	if err != nil {
		return nil, err.Error()
	}
	return k, ""
}

// EventsMethod says which witness records connections' lives:
// record.WitnessKernelEvents, or "polling" (the tracker's samples only).
func (s *Sampler) EventsMethod() string {
	if e := sourceOf[*eventSource](s); e != nil && e.kev != nil {
		return record.WitnessKernelEvents
	}
	return EventsPolling
}

// EventsFallback says why the kernel event witness does not run although
// KernelEvents asked for it, or "".
func (s *Sampler) EventsFallback() string {
	if e := sourceOf[*eventSource](s); e != nil {
		return e.why
	}
	return ""
}
