package probes

import (
	"net/netip"
	"slices"
	"time"

	"github.com/soak-dev/soak/internal/ownconns"
	"github.com/soak-dev/soak/record"
)

// sock is one TCP socket from a dump (netlink or /proc/PID/net/tcp).
type sock struct {
	local, remote netip.AddrPort
	state         uint8
	inode         uint32
	idleMs        int64 // min(last data sent, last data received); -1 when unknown
}

// ownEnds tells soak's own connections from the node's. A nil *ownEnds
// knows none.
type ownEnds struct {
	// prober says whether a socket is either end of one of the prober's
	// connections to this node (nil: none): never the node's traffic.
	prober func(local, remote netip.AddrPort) bool
	// soaks is every connection soak dialled (its load client's, every
	// node's prober's; nil: unknown).
	soaks *ownconns.Set
}

// proberConn says whether k is either end of one of the prober's connections.
func (o *ownEnds) proberConn(k connKey) bool {
	return o != nil && o.prober != nil && o.prober(k.local, k.remote)
}

// dialled says whether soak dialled from k's local end to its remote one:
// the socket is soak's client end (its accepted end at the node is the
// reverse tuple, which this is not).
func (o *ownEnds) dialled(k connKey) bool { return o != nil && o.soaks.Has(k.local, k.remote) }

// socketView turns one dump into the node's sockets by layer, feeding the
// tracker. fdInodes are the process's socket inodes (and their fd numbers);
// own tells soak's connections: the prober's to this node are left out, and
// an ownerless socket the tracker never saw whose local end soak dialled
// from is soak's closed end. nodes, when the kernel event witness
// runs, says whether it recorded a tuple as one of the node's connections
// (open, or closed lately): an ownerless socket the tracker never saw is
// then the node's only if the node accepted it or the witness says so.
func socketView(now time.Time, dump []sock, fdInodes map[uint32]int32, own *ownEnds,
	nodes func(connKey) bool, ls layerSet, tr *tracker, method string, partial bool) (*record.Sockets, []record.Conn) {
	out := &record.Sockets{Method: method, Layers: map[string]*record.LayerSockets{}, Partial: partial}
	listen := map[uint16]bool{}
	for i := range dump {
		if _, ok := fdInodes[dump[i].inode]; ok && dump[i].state == tcpListen {
			listen[dump[i].local.Port()] = true
		}
	}
	ages := map[string][]int64{}
	tr.begin()
	for i := range dump {
		s := &dump[i]
		if s.state == tcpListen {
			continue
		}
		_, owned := fdInodes[s.inode]
		if s.inode != 0 && !owned {
			continue // another process's socket
		}
		k := connKey{s.local, s.remote}
		if own.proberConn(k) {
			continue
		}
		if c := tr.lookup(k); c != nil && c.gen == tr.gen {
			// Listed twice: the kernel hands a dump out in parts (a page of
			// /proc/PID/net/tcp, a sock_diag batch) and resumes each part at
			// an offset in a hash bucket, so a socket added ahead of that
			// offset meanwhile repeats the one before it. A 4-tuple names one
			// socket at a time: the first listing counts.
			continue
		}
		lport, rport := int(s.local.Port()), int(s.remote.Port())
		var layer, side string
		switch {
		case owned:
			// Owned by the process through one of its fds.
		case tr.lookup(k) != nil:
			// TIME_WAIT, orphaned FIN_WAIT: the socket we saw with an fd.
			c := tr.lookup(k)
			layer, side = c.layer, c.side
		default:
			// No owner left (TIME_WAIT, SYN_RECV): ours only if a rule says
			// so, and not soak's own closed end: a rule naming a remote port
			// also matches soak's load client's and probers' closed ends.
			// With the witness, only if the node accepted it (on a port it
			// listens on) or the witness saw the node dial it; without it,
			// soak's ends are told by the connections soak dialled.
			if ls.match(lport, rport) == "" || own.dialled(k) {
				continue
			}
			if nodes != nil && !listen[s.local.Port()] && !nodes(k) {
				continue
			}
		}
		if layer == "" {
			layer = ls.match(lport, rport)
			if layer == "" {
				layer = record.LayerOther
			}
			side = "client"
			if listen[s.local.Port()] || ls.local[lport] {
				side = "server"
			}
		}
		c := tr.observe(now, k, s.inode, s.state, s.idleMs, layer, side)
		l := out.Layers[layer]
		if l == nil {
			l = &record.LayerSockets{ByState: map[string]int{}}
			out.Layers[layer] = l
		}
		l.ByState[stateName(s.state)]++
		switch s.state {
		case tcpEstablished:
			idle := s.idleMs
			if idle < 0 {
				idle = now.Sub(c.estSince).Milliseconds()
			}
			ages[layer] = append(ages[layer], idle)
			if idle >= record.IdleThresholdMs {
				l.IdleConns++
			}
			if l.Sides == nil {
				l.Sides = map[string]int{}
			}
			l.Sides[c.side]++
		case tcpCloseWait:
			if a := now.Sub(c.closeWaitSince).Milliseconds(); a > l.CloseWaitMaxAgeMs {
				l.CloseWaitMaxAgeMs = a
			}
		}
	}
	for layer, a := range ages {
		out.Layers[layer].Idle = idleStats(a, method == record.MethodProc)
	}
	return out, tr.sweep(now, partial)
}

// idleStats summarises idle ages (ms); it sorts ages in place.
func idleStats(ages []int64, estimated bool) *record.IdleStats {
	if len(ages) == 0 {
		return nil
	}
	slices.Sort(ages)
	st := &record.IdleStats{
		Max:       ages[len(ages)-1],
		P50:       rank(ages, 50),
		P99:       rank(ages, 99),
		Hist:      make([]int, len(record.IdleBucketsMs)+1),
		Estimated: estimated,
	}
	for _, a := range ages {
		i, _ := slices.BinarySearch(record.IdleBucketsMs, a)
		st.Hist[i]++
	}
	return st
}

// rank is the nearest-rank percentile of sorted values.
func rank(sorted []int64, p int) int64 {
	i := (p*len(sorted)+99)/100 - 1
	if i < 0 {
		i = 0
	}
	return sorted[i]
}
