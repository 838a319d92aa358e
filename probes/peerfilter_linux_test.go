package probes

import (
	"io"
	"net"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/prometheus/procfs"
	"github.com/soak-dev/soak/record"
	"golang.org/x/sys/unix"
)

// The kernel applies the peer filter as written: against an unfiltered
// dump, a filtered one keeps exactly the sockets with a remote port not
// dropped or a local port kept (several ports, so every jump is taken).
func TestPeerFilterBytecode(t *testing.T) {
	t.Parallel()
	var lns []net.Listener
	var ports []uint16
	for range 3 {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				defer c.Close()
			}
		}()
		lns = append(lns, ln)
		ports = append(ports, uint16(ln.Addr().(*net.TCPAddr).Port))
	}
	addrs := map[string]bool{}
	for _, ln := range lns {
		addrs[ln.Addr().String()] = true
		for range 2 {
			c, err := net.Dial("tcp", ln.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			addrs[c.LocalAddr().String()] = true
		}
	}
	// Both ends ours (other tests run in this process too).
	ours := func(s sock) bool {
		return s.state != tcpTimeWait && addrs[s.local.String()] && (addrs[s.remote.String()] || s.state == tcpListen)
	}
	d, err := openDiag(os.Getpid(), false)
	if err != nil {
		t.Fatal(err)
	}
	defer d.close()
	// Drop the first two ports, keep the last two as local ports.
	drop, keep := ports[:2], ports[1:]
	bc := appendPortFilter(nil, drop, keep)
	all, _, err := d.dump(nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	got, _, err := d.dump(nil, bc)
	if err != nil {
		t.Fatalf("filtered dump: %v (bytecode %x)", err, bc)
	}
	in := func(p uint16, ps []uint16) bool {
		for _, x := range ps {
			if x == p {
				return true
			}
		}
		return false
	}
	want := map[connKey]bool{}
	for _, s := range all {
		if ours(s) && (!in(s.remote.Port(), drop) || in(s.local.Port(), keep)) {
			want[connKey{s.local, s.remote}] = true
		}
	}
	have := map[connKey]bool{}
	for _, s := range got {
		if ours(s) {
			have[connKey{s.local, s.remote}] = true
		}
	}
	// 3 listeners and 3x2 connections: 6 server ends and 6 client ends.
	// The client ends of the first two listeners (remote port dropped,
	// local port ephemeral) go: 3 + 6 + 2 kept.
	if got, computed := len(have), len(want); got != 11 || computed != 11 {
		t.Fatalf("filtered dump lists %d of our sockets, want 11 (computed from the unfiltered dump: %d)", got, computed)
	}
	for k := range want {
		if !have[k] {
			t.Errorf("filtered dump lacks %v", k)
		}
	}
}

// With the filter on, a sample of a server with K peers in this process
// counts the same as without it, and the dump no longer lists the peers.
func TestPeerFilterSameSample(t *testing.T) {
	t.Parallel()
	const k = 20
	h := startHelper(t, "closewait", nil)
	peers := dialPeers(t, h.addr, k)
	defer resetAll(peers)
	rules := []LayerRule{{Name: "client", LocalPorts: []int{h.port}}}
	s := newTestSampler(t, Target{Node: "sut", PID: h.cmd.Process.Pid, Layers: rules})
	waitFor(t, s, func(smp record.Sample) bool { return layer(smp, "client").Established() == k })
	if bc := sourceOf[*socketSource](s).filter.bytecode(s.layers, s.tracker); bc == nil {
		t.Fatal("peer filter not in use after a complete sample")
	}
	filtered, _ := sampleNow(t, s)
	peerAddrs := map[string]bool{}
	for _, c := range peers {
		peerAddrs[c.LocalAddr().String()] = true
	}
	for _, so := range sourceOf[*socketSource](s).socks {
		if peerAddrs[so.local.String()] && int(so.remote.Port()) == h.port {
			t.Errorf("filtered dump lists a peer end %v -> %v", so.local, so.remote)
		}
	}
	// The same view from an unfiltered dump.
	all, _, err := sourceOf[*socketSource](s).diag.dump(nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	inodes := map[uint32]int32{}
	if _, err := sourceOf[*fdSource](s).lister.read(s.sys.proc, inodes); err != nil {
		t.Fatal(err)
	}
	view, _ := socketView(filtered.Time, all, inodes, nil, nil, newLayerSet(rules), newTracker("x"), record.MethodNetlink, false)
	for name, l := range view.Layers {
		fl := filtered.Sockets.Layers[name]
		if fl == nil || fl.Established() != l.Established() || len(fl.ByState) != len(l.ByState) {
			t.Errorf("layer %s: filtered %+v, unfiltered %+v", name, fl, l)
		}
	}
	if len(view.Layers) != len(filtered.Sockets.Layers) {
		t.Errorf("layers: filtered %v, unfiltered %v", filtered.Sockets.Layers, view.Layers)
	}
}

// A SUT that dials its own listen port after the filter is on: those
// sockets have the dropped remote port, so the filtered dump misses them,
// the check sees a TCP socket fd missing and dumps again unfiltered.
func TestPeerFilterSelfDial(t *testing.T) {
	t.Parallel()
	const k, self = 5, 3
	h := startHelper(t, "selfdial", nil, "K="+strconv.Itoa(self))
	holdConns(t, h.addr, k)
	s := newTestSampler(t, Target{Node: "sut", PID: h.cmd.Process.Pid,
		Layers: []LayerRule{{Name: "client", LocalPorts: []int{h.port}}}})
	smp, _ := sampleNow(t, s)
	if got := layer(smp, "client").Established(); got != k {
		t.Fatalf("established = %d, want %d", got, k)
	}
	if sourceOf[*socketSource](s).filter.bytecode(s.layers, s.tracker) == nil {
		t.Fatal("peer filter not in use before the self-dial")
	}
	// The SUT dials itself now; wait for its 2 fds per self-dial, then one
	// sample must see them all.
	fdDir := "/proc/" + strconv.Itoa(h.cmd.Process.Pid) + "/fd"
	base, _ := os.ReadDir(fdDir)
	if _, err := io.WriteString(h.stdin, "dial\n"); err != nil {
		t.Fatal(err)
	}
	for i := 0; ; i++ {
		ents, _ := os.ReadDir(fdDir)
		if len(ents) >= len(base)+2*self {
			break
		}
		if i == 200 {
			t.Fatalf("helper has %d fds, want %d", len(ents), len(base)+2*self)
		}
		time.Sleep(25 * time.Millisecond)
	}
	smp, _ = sampleNow(t, s)
	if got, want := layer(smp, record.LayerOther).Established(), self; got != want {
		t.Errorf("self-dialled client ends = %d, want %d in the first sample after the dial", got, want)
	}
	if got, want := layer(smp, "client").Established(), k+self; got != want {
		t.Errorf("server ends = %d, want %d", got, want)
	}
	if sourceOf[*socketSource](s).filter.bytecode(s.layers, s.tracker) != nil {
		t.Error("peer filter still in use while the SUT holds sockets it would drop")
	}
}

// The fd reader agrees with /proc as procfs reads it, and an fd number
// reused by another socket reads as the new socket.
// Not parallel: it compares fd counts of this process.
func TestFDReader(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var conns [2]*net.TCPConn
	var inos [2]uint32
	for i := range conns {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		conns[i] = c.(*net.TCPConn)
		l, err := os.Readlink("/proc/self/fd/" + strconv.Itoa(rawFD(t, conns[i])))
		if err != nil {
			t.Fatal(err)
		}
		var ok bool
		if inos[i], ok = socketInode([]byte(l)); !ok {
			t.Fatalf("not a socket: %q", l)
		}
	}
	p, err := procfs.NewProc(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	r, err := openFDReader(DefaultProcRoot, os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	defer r.close()
	// A second fd for the first socket, then the same number for the second.
	fd, err := unix.Dup(rawFD(t, conns[0]))
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	inodes := map[uint32]int32{}
	if _, err := r.read(p, inodes); err != nil {
		t.Fatal(err)
	}
	if _, ok := inodes[inos[0]]; !ok {
		t.Fatalf("socket %d not read", inos[0])
	}
	if err := unix.Dup3(rawFD(t, conns[1]), fd, unix.O_CLOEXEC); err != nil {
		t.Fatal(err)
	}
	clear(inodes)
	fds, err := r.read(p, inodes)
	if err != nil {
		t.Fatal(err)
	}
	if got := inodes[inos[0]]; got == int32(fd) {
		t.Errorf("fd %d still read as the old socket %d", fd, inos[0])
	}
	if _, ok := inodes[inos[1]]; !ok {
		t.Errorf("socket %d not read", inos[1])
	}
	// Totals and types as procfs reads them (the runtime may open an fd meanwhile).
	targets, err := p.FileDescriptorTargets()
	if err != nil {
		t.Fatal(err)
	}
	sockets := 0
	for _, tg := range targets {
		if fdType([]byte(tg)) == record.FDSocket {
			sockets++
		}
	}
	if d := fds.Total - len(targets); d < -1 || d > 1 {
		t.Errorf("total = %d, procfs %d", fds.Total, len(targets))
	}
	if d := fds.ByType[record.FDSocket] - sockets; d < -1 || d > 1 {
		t.Errorf("sockets = %d, procfs %d", fds.ByType[record.FDSocket], sockets)
	}
}

func rawFD(t *testing.T, c *net.TCPConn) int {
	t.Helper()
	rc, err := c.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var fd int
	rc.Control(func(f uintptr) { fd = int(f) })
	return fd
}
