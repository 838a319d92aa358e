package probes

import (
	"context"
	"fmt"

	"github.com/soak-dev/soak/record"
)

func init() { registerSource(stageSockets, "sockets", openSocketSource) }

var _ source = (*socketSource)(nil)

// socketSource lists the namespace's TCP sockets (sock_diag netlink, or
// /proc/PID/net/tcp{,6} as the fallback), joins them with the process's
// socket fds and classifies them into layers, states and idle ages.
type socketSource struct {
	s        *Sampler
	diag     *diag       // nil with the proc method
	filter   *peerFilter // nil with the proc method
	fallback string      // why the proc method is used, when it was not asked for
	socks    []sock      // reused dump buffer
	dumped   bool        // this tick's dump succeeded
	partial  bool        // this tick's dump was filtered
	own      *ownEnds    // soak's own connections, made at the first classification
}

func openSocketSource(s *Sampler) (source, error) {
	src := &socketSource{s: s}
	if s.forceProc {
		return src, nil
	}
	d, err := openDiag(s.target.PID, s.sys.otherNS)
	if err == nil {
		_, _, err = d.dump(nil, nil)
		if err != nil {
			d.close()
		}
	}
	switch {
	case err == nil:
		src.diag, src.filter, s.method = d, newPeerFilter(s.root), record.MethodNetlink
	case s.sys.otherNS:
		// /proc/PID/net/tcp would do, but without idle ages: say what to fix instead.
		return nil, fmt.Errorf("probes: pid %d: %w", s.target.PID, err)
	default:
		src.fallback = err.Error()
	}
	return src, nil
}

// start dumps the sockets once the fds were read (their inodes tell the
// process's sockets apart).
func (k *socketSource) start(ctx context.Context, t *tick) {
	k.dumped = false
	if t.out.FDs == nil || ctx.Err() != nil {
		return
	}
	var err error
	if k.partial, err = k.dump(t.inodes); err != nil {
		t.out.Errors = append(t.out.Errors, "sockets: "+err.Error())
	}
	k.dumped = err == nil
}

// finish classifies the dump, after the goroutine fetch was joined: its
// connection's address is known once the dial returned, and the dump may
// already list it.
func (k *socketSource) finish(_ context.Context, t *tick) {
	if !k.dumped || t.gone {
		return
	}
	s := k.s
	if k.own == nil {
		k.own = &ownEnds{soaks: s.soaks}
		if s.fetch != nil {
			k.own.prober = s.fetch.owns
		}
	}
	var ended []record.Conn
	var nodes func(connKey) bool
	if e := sourceOf[*eventSource](s); e != nil && e.kev != nil {
		nodes = e.kev.knows
	}
	t.out.Sockets, ended = socketView(t.now, k.socks, t.inodes, k.own, nodes, s.layers, s.tracker, s.method, k.partial)
	t.out.Sockets.NetNS = s.sys.netns
	t.listen = appendListenPorts(make([]uint16, 0, 4), k.socks, t.inodes)
	t.ended = append(t.ended, ended...)
}

// close returns the connections the tracker still sees open.
func (k *socketSource) close() []record.Conn {
	if k.diag != nil {
		k.diag.close()
		k.diag = nil
	}
	return k.s.tracker.openAtEnd()
}

// dump lists the namespace's TCP sockets into k.socks: all of them, or
// with the peer filter all but sockets that cannot be the SUT's. A filtered
// dump that misses one of the SUT's TCP sockets is done again unfiltered.
func (k *socketSource) dump(inodes map[uint32]int32) (partial bool, err error) {
	s := k.s
	if k.diag == nil {
		k.socks, err = readProcNet(s.root, s.target.PID, k.socks)
		return false, err
	}
	bc := k.filter.bytecode(s.layers, s.tracker)
	k.socks, partial, err = k.diag.dump(k.socks, bc)
	if err != nil || k.filter.update(s.target.PID, k.socks, inodes, partial) || bc == nil {
		return partial, err
	}
	k.socks, partial, err = k.diag.dump(k.socks, nil)
	if err == nil {
		k.filter.update(s.target.PID, k.socks, inodes, partial)
	}
	return partial, err
}

// Fallback says why the sampler uses the proc method although netlink was
// not turned off, or "" when it does not.
func (s *Sampler) Fallback() string {
	if k := sourceOf[*socketSource](s); k != nil {
		return k.fallback
	}
	return ""
}
