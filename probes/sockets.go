package probes

import (
	"net/netip"
	"slices"
	"time"

	"github.com/soak-dev/soak/record"
)

// sock is one TCP socket from a dump (netlink or /proc/PID/net/tcp).
type sock struct {
	local, remote netip.AddrPort
	state         uint8
	inode         uint32
	idleMs        int64 // min(last data sent, last data received); -1 when unknown
}

// socketView turns one dump into the node's sockets by layer, feeding the
// tracker. fdInodes are the process's socket inodes (and their fd numbers); own are the prober's
// own connection addresses, left out. nodes, when the kernel event witness
// runs, says whether it recorded a tuple as one of the node's connections
// (open, or closed lately): an ownerless socket the tracker never saw is
// then the node's only if the node accepted it or the witness says so.
func socketView(now time.Time, dump []sock, fdInodes map[uint32]int32, own map[netip.AddrPort]bool,
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
		if s.state == tcpListen || own[s.local] || own[s.remote] {
			continue
		}
		k := connKey{s.local, s.remote}
		lport, rport := int(s.local.Port()), int(s.remote.Port())
		var layer, side string
		_, owned := fdInodes[s.inode]
		switch {
		case s.inode != 0 && owned:
			// Owned by the process through one of its fds.
		case s.inode != 0:
			continue // another process's socket
		case tr.lookup(k) != nil:
			// TIME_WAIT, orphaned FIN_WAIT: the socket we saw with an fd.
			c := tr.lookup(k)
			layer, side = c.layer, c.side
		default:
			// No owner left (TIME_WAIT, SYN_RECV): ours only if a rule says
			// so; and, with the witness, only if the node accepted it (on a
			// port it listens on) or the witness saw the node dial it: a
			// rule naming a remote port also matches soak's load client's
			// and prober's closed ends.
			if ls.match(lport, rport) == "" {
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
