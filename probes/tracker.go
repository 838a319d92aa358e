package probes

import (
	"net/netip"
	"time"

	"github.com/soak-dev/soak/record"
)

// connKey names a socket by its 4-tuple; the inode tells reuse of a tuple apart.
type connKey struct{ local, remote netip.AddrPort }

// connLife is what the tracker keeps of one live socket: a fixed-size
// summary, never a per-sample history, so 100k sockets over hours cost a
// few MB.
type connLife struct {
	layer, side    string
	inode          uint32
	opened         time.Time
	lastSeen       time.Time
	estSince       time.Time // first seen ESTABLISHED: the proc method's idle estimate
	closeWaitSince time.Time
	maxIdle        int64
	lastIdle       int64
	state          uint8
	firstClosing   uint8 // first closing state seen; tells who closed first
	gen            uint64
	emitted        bool // reported already (TIME_WAIT); dropped silently when it vanishes
}

// tracker follows sockets across samples and reports each connection once
// when it ends.
type tracker struct {
	node  string
	gen   uint64
	conns map[connKey]*connLife
	ended []record.Conn
}

func newTracker(node string) *tracker {
	return &tracker{node: node, conns: map[connKey]*connLife{}}
}

// begin starts a sample.
func (t *tracker) begin() { t.gen++; t.ended = nil }

// lookup returns the live entry of a tuple, if any (to attribute an inode-0 socket).
func (t *tracker) lookup(k connKey) *connLife { return t.conns[k] }

// observe records one sighting; idleMs < 0 means unknown.
func (t *tracker) observe(now time.Time, k connKey, inode uint32, state uint8, idleMs int64, layer, side string) *connLife {
	c := t.conns[k]
	if c != nil && inode != 0 && c.inode != 0 && inode != c.inode {
		// The tuple was reused by a new socket: the old one ended unseen.
		t.end(now, k, c)
		c = nil
	}
	if c == nil {
		c = &connLife{layer: layer, side: side, inode: inode, opened: now}
		t.conns[k] = c
	}
	released := inode == 0 && c.inode != 0
	if inode != 0 {
		c.inode = inode
	}
	c.lastSeen, c.state, c.gen = now, state, t.gen
	if state == tcpEstablished && c.estSince.IsZero() {
		c.estSince = now
	}
	if idleMs >= 0 {
		c.lastIdle = idleMs
		if idleMs > c.maxIdle {
			c.maxIdle = idleMs
		}
	}
	switch state {
	case tcpCloseWait, tcpLastAck, tcpFinWait1, tcpFinWait2, tcpTimeWait, tcpClosing, tcpClose:
		if c.firstClosing == 0 {
			c.firstClosing = state
		}
	}
	if state == tcpCloseWait && c.closeWaitSince.IsZero() {
		c.closeWaitSince = now
	}
	if (released || state == tcpTimeWait) && !c.emitted {
		// The process let go of it (its fd is closed; an orphan FIN_WAIT,
		// LAST_ACK or TIME_WAIT remains): the connection's life is over.
		t.ended = append(t.ended, t.conn(now, k, c, true))
		c.emitted = true
	}
	return c
}

// sweep ends the connections not seen in this sample. A partial dump
// sweeps nothing: a missing socket may just be unlisted.
func (t *tracker) sweep(now time.Time, partial bool) []record.Conn {
	if !partial {
		for k, c := range t.conns {
			if c.gen != t.gen {
				t.end(now, k, c)
			}
		}
	}
	out := t.ended
	t.ended = nil
	return out
}

func (t *tracker) end(now time.Time, k connKey, c *connLife) {
	if !c.emitted {
		t.ended = append(t.ended, t.conn(now, k, c, true))
	}
	delete(t.conns, k)
}

// openAtEnd reports every connection still open and forgets them.
func (t *tracker) openAtEnd() []record.Conn {
	var out []record.Conn
	for k, c := range t.conns {
		if !c.emitted {
			out = append(out, t.conn(time.Time{}, k, c, false))
		}
	}
	t.conns = map[connKey]*connLife{}
	return out
}

func (t *tracker) conn(now time.Time, k connKey, c *connLife, ended bool) record.Conn {
	rc := record.Conn{
		Witness:   record.WitnessKernel,
		Source:    t.node,
		Layer:     c.layer,
		Side:      c.side,
		Local:     k.local.String(),
		Remote:    k.remote.String(),
		Opened:    c.opened,
		MaxIdleMs: c.maxIdle,
		ClosedBy:  record.OpenAtEnd,
		LastState: stateName(c.state),
	}
	if ended {
		rc.Closed = now
		rc.IdleBeforeCloseMs = c.lastIdle
		rc.ClosedBy = closedBy(c)
	}
	return rc
}

// closedBy infers who closed first from the states seen. CLOSE_WAIT or
// LAST_ACK on our side means the peer's FIN came first; FIN_WAIT or
// TIME_WAIT means ours did. A socket that vanished straight from
// ESTABLISHED passed no TIME_WAIT on our side, which it would have (for
// ~60 s, and the tracker would have seen it by its tuple) had we closed
// first: so the peer closed it, or reset it.
func closedBy(c *connLife) string {
	us, peer := record.ClosedByServer, record.ClosedByClient
	if c.side == "client" {
		us, peer = peer, us
	}
	switch c.firstClosing {
	case tcpCloseWait, tcpLastAck:
		return peer
	case tcpFinWait1, tcpFinWait2, tcpTimeWait:
		return us
	case 0:
		if c.state == tcpEstablished {
			return peer
		}
	}
	return record.ClosedByUnknown
}
