package probes

import (
	"encoding/binary"
	"errors"
	"slices"
	"strconv"

	"golang.org/x/sys/unix"
)

// peerFilter leaves the other ends of the SUT's inbound connections out of
// the sock_diag dump, in the kernel. When the load generator runs on the
// same host those are as many sockets as the SUT's own, and each costs a
// tcp_info fill and a copy.
//
// The filter drops a socket whose remote port is one of the SUT's listen
// ports and whose local port is none of them nor a rule's LocalPorts. Such
// a socket can still be the SUT's (it dialled its own port number, or a
// remote host's port with the same number), so the filter is used only
// while it is known to drop nothing of the SUT's:
//   - no rule names one of those ports in RemotePorts (a TIME_WAIT there would count);
//   - no live socket the tracker holds would be dropped;
//   - the previous sample accounted for every TCP socket fd of the SUT;
//
// and every filtered dump is checked: a TCP socket fd of the SUT missing
// from it makes the sampler dump again without the filter. Which socket fds
// are TCP is read once per inode from the socket's "system.sockprotoname".
type peerFilter struct {
	listen    []uint16        // the SUT's listen ports in the last dump
	accounted bool            // the last dump listed every TCP socket fd of the SUT
	proto     map[uint32]bool // the SUT's socket inodes known not to be TCP
	seen      map[uint32]bool // scratch: the SUT's inodes in the dump
	bc        []byte
	root      procRoot // where socketIsTCP reads the fds' protocol
}

// maxFilterPorts bounds the bytecode: the kernel runs it for every socket.
const maxFilterPorts = 64

func newPeerFilter(root procRoot) *peerFilter {
	return &peerFilter{proto: map[uint32]bool{}, seen: map[uint32]bool{}, root: root}
}

// bytecode returns the filter for the next dump, or nil when it is not safe.
func (f *peerFilter) bytecode(ls layerSet, tr *tracker) []byte {
	if !f.accounted || len(f.listen) == 0 {
		return nil
	}
	var drop []uint16
	for _, p := range f.listen {
		if !ls.remote[int(p)] {
			drop = append(drop, p)
		}
	}
	if len(drop) == 0 {
		return nil
	}
	keep := slices.Clone(f.listen)
	for p := range ls.local {
		if !slices.Contains(keep, uint16(p)) {
			keep = append(keep, uint16(p))
		}
	}
	if len(drop)+len(keep) > maxFilterPorts {
		return nil
	}
	for k := range tr.conns {
		if slices.Contains(drop, k.remote.Port()) && !slices.Contains(keep, k.local.Port()) {
			return nil // a socket of the SUT the filter would drop
		}
	}
	f.bc = appendPortFilter(f.bc[:0], drop, keep)
	return f.bc
}

// appendPortFilter appends INET_DIAG bytecode that rejects a socket whose
// remote port is in drop and whose local port is not in keep. An op jumps
// by "yes" bytes when its test holds, else by "no"; ending exactly at the
// end accepts, 4 bytes past it rejects. The kernel's audit walks the "yes"
// chain, so every op's yes is its own length and "no" does the branching.
func appendPortFilter(b []byte, drop, keep []uint16) []byte {
	const (
		bcJmp = 1 // INET_DIAG_BC_JMP: always takes "no"
		bcSGE = 2 // INET_DIAG_BC_S_GE: local port >=
		bcSLE = 3
		bcDGE = 4 // INET_DIAG_BC_D_GE: remote port >=
		bcDLE = 5
		block = 20 // GE op + port, LE op + port, JMP
	)
	start := len(b)
	sport := len(drop)*block + 4 // where the local-port tests begin
	end := sport + len(keep)*block + 4
	op := func(code byte, yes int, no int) {
		b = append(b, code, byte(yes))
		b = binary.NativeEndian.AppendUint16(b, uint16(no))
	}
	arg := func(port uint16) { op(0, 0, int(port)) }
	at := func() int { return len(b) - start }
	eq := func(ge, le byte, port uint16, match int) {
		next := at() + block
		op(ge, 8, next-at())
		arg(port)
		op(le, 8, next-at())
		arg(port)
		op(bcJmp, 4, match-at())
	}
	for _, p := range drop {
		eq(bcDGE, bcDLE, p, sport)
	}
	op(bcJmp, 4, end-at()) // remote port not dropped: accept
	for _, p := range keep {
		eq(bcSGE, bcSLE, p, end)
	}
	op(bcJmp, 4, end+4-at()) // reject
	return b
}

// update learns the SUT's listen ports from a dump and checks that it lists
// every TCP socket fd of the SUT (inodes: the SUT's socket inodes and their
// fds); it reports whether it did.
func (f *peerFilter) update(pid int, dump []sock, inodes map[uint32]int32, partial bool) bool {
	f.listen = f.listen[:0]
	clear(f.seen)
	for i := range dump {
		s := &dump[i]
		if _, ok := inodes[s.inode]; !ok || s.inode == 0 {
			continue
		}
		f.seen[s.inode] = true
		if s.state == tcpListen && !slices.Contains(f.listen, s.local.Port()) {
			f.listen = append(f.listen, s.local.Port())
		}
	}
	for ino := range f.proto {
		if _, ok := inodes[ino]; !ok {
			delete(f.proto, ino)
		}
	}
	f.accounted = !partial
	if len(f.seen) == len(inodes) {
		return f.accounted
	}
	// Socket fds the dump did not list: fine when they are not TCP (UNIX,
	// UDP, netlink) or were closed meanwhile.
	// Only non-TCP answers are kept: a SUT may hold any number of TCP
	// sockets that no dump lists (reset, unconnected), and one is enough.
	for ino, fd := range inodes {
		if f.seen[ino] || f.proto[ino] {
			continue
		}
		tcp, known := socketIsTCP(f.root, pid, fd)
		if known && !tcp {
			f.proto[ino] = true
			continue
		}
		if tcp {
			f.accounted = false
			break
		}
	}
	return f.accounted
}

// socketIsTCP reads the protocol of a socket fd ("TCP", "TCPv6",
// "UNIX-STREAM", ...): known is false when it could not be read. A closed
// fd is not TCP (it is no longer the SUT's); any other failure counts as
// TCP, the safe side.
func socketIsTCP(root procRoot, pid int, fd int32) (tcp, known bool) {
	var buf [32]byte
	n, err := unix.Getxattr(root.pid(pid, "fd", strconv.Itoa(int(fd))), "system.sockprotoname", buf[:])
	switch {
	case errors.Is(err, unix.ENOENT):
		return false, false
	case err != nil || n == 0:
		return true, false
	}
	name := string(buf[:n-1])
	return name == "TCP" || name == "TCPv6", true
}
