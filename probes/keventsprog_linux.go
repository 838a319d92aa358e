package probes

import (
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"github.com/cilium/ebpf/btf"
	"golang.org/x/sys/unix"
)

// The kernel event witness's program runs on the BTF raw tracepoint
// tp_btf/inet_sock_set_state (no tracefs needed, unlike the classic
// tracepoint). It is assembled here, as the fd iterator is, because soak is
// built where there is Go and no clang: the offsets it reads come from the
// running kernel's BTF at load time, the role CO-RE relocations play for a
// compiled object, and there is no generated object to keep in step with a
// C source. It is about 150 instructions.
//
// Only the node's own TCP sockets of one network namespace whose local port
// is one of the layers' local ports, or remote port one of their remote
// ports, are reported (soak's layer rules are ports); a socket is the
// node's when the node dialled it (its tgid at SYN_SENT) or accepted it on
// a port it listens on (keventsowner_linux.go says why). Only four
// transitions are reported: SYN_SENT/SYN_RECV -> ESTABLISHED (opened, with
// the side), ESTABLISHED -> FIN_WAIT1 (this side sent the first FIN),
// ESTABLISHED -> CLOSE_WAIT (the peer did), and -> CLOSE (closed). A full
// ring buffer counts the event in a lost counter instead.

// keventLen is the size of one event record; the layout is in decodeKevent.
const keventLen = 80

// Port filter keys: the local port, the remote port with kevRemoteKey, a
// port the node listens on with kevListenKey.
const (
	kevRemoteKey = 1 << 16
	kevListenKey = 1 << 17
)

// Marks in a socket's storage: dialled by the node (at SYN_SENT, not yet
// followed), followed (reported from ESTABLISHED on).
const (
	kevDialled  = 1
	kevFollowed = 2
)

// BPF helpers the program calls that asm does not name.
const (
	fnJiffies64       = asm.BuiltinFunc(118)
	fnSkcToTCPSock    = asm.BuiltinFunc(137)
	fnRingbufOutput   = asm.BuiltinFunc(130)
	fnRingbufQuery    = asm.BuiltinFunc(134)
	fnSkStorageGet    = asm.BuiltinFunc(107)
	fnSkStorageDelete = asm.BuiltinFunc(108)

	bpfSkStorageGetFCreate = 1
	bpfRBNoWakeup          = 1
	bpfRBForceWakeup       = 2
	bpfRBAvailData         = 0
)

// sockOffsets are the byte offsets the program reads, from kernel BTF.
type sockOffsets struct {
	protocol, family, num, dport, net, netInum int16
	flags                                      int16
	saddr, daddr, saddr6, daddr6               int16
	lsndtime, lrcvtime, bytesReceived, acked   int16
}

var (
	kevOffOnce sync.Once
	kevOff     sockOffsets
	kevOffErr  error
	kevHZ      int
)

// keventOffsets reads the kernel's BTF once per process (the parsed types,
// tens of MiB, are not kept), and the kernel's tick rate.
func keventOffsets() (sockOffsets, int, error) {
	kevOffOnce.Do(func() {
		kevOff, kevOffErr = readSockOffsets()
		if kevOffErr == nil {
			kevHZ, kevOffErr = kernelHZ()
		}
		runtime.GC()
	})
	return kevOff, kevHZ, kevOffErr
}

func readSockOffsets() (sockOffsets, error) {
	var o sockOffsets
	spec, err := btf.LoadKernelSpec()
	if err != nil {
		return o, fmt.Errorf("read kernel BTF: %w", err)
	}
	var tp *btf.Typedef
	if err := spec.TypeByName("btf_trace_inet_sock_set_state", &tp); err != nil {
		return o, fmt.Errorf("kernel BTF: no tracepoint inet_sock_set_state: %w", err)
	}
	for _, f := range []struct {
		dst        *int16
		typ, field string
	}{
		{&o.protocol, "sock", "sk_protocol"},
		{&o.flags, "sock", "__sk_common.skc_flags"},
		{&o.family, "sock", "__sk_common.skc_family"},
		{&o.num, "sock", "__sk_common.skc_num"},
		{&o.dport, "sock", "__sk_common.skc_dport"},
		{&o.net, "sock", "__sk_common.skc_net.net"},
		{&o.saddr, "sock", "__sk_common.skc_rcv_saddr"},
		{&o.daddr, "sock", "__sk_common.skc_daddr"},
		{&o.saddr6, "sock", "__sk_common.skc_v6_rcv_saddr"},
		{&o.daddr6, "sock", "__sk_common.skc_v6_daddr"},
		{&o.netInum, "net", "ns.inum"},
		{&o.lsndtime, "tcp_sock", "lsndtime"},
		{&o.lrcvtime, "tcp_sock", "inet_conn.icsk_ack.lrcvtime"},
		{&o.bytesReceived, "tcp_sock", "bytes_received"},
		{&o.acked, "tcp_sock", "bytes_acked"},
	} {
		if *f.dst, err = memberPath(spec, f.typ, f.field); err != nil {
			return o, err
		}
	}
	return o, nil
}

// memberPath finds a dotted path of members of a struct (anonymous members
// are looked through, as memberOffset does).
func memberPath(spec *btf.Spec, typ, path string) (int16, error) {
	var s *btf.Struct
	if err := spec.TypeByName(typ, &s); err != nil {
		return 0, fmt.Errorf("kernel BTF: struct %s: %w", typ, err)
	}
	members, off := s.Members, uint32(0)
	parts := strings.Split(path, ".")
	for i, name := range parts {
		m, moff, ok := findMemberType(members, name, off)
		if !ok {
			return 0, fmt.Errorf("kernel BTF: struct %s has no member %s", typ, path)
		}
		off = moff
		if i == len(parts)-1 {
			break
		}
		switch t := btf.UnderlyingType(m.Type).(type) {
		case *btf.Struct:
			members = t.Members
		case *btf.Union:
			members = t.Members
		default:
			return 0, fmt.Errorf("kernel BTF: %s.%s is not a struct", typ, path)
		}
	}
	if off >= 1<<15 {
		return 0, fmt.Errorf("kernel BTF: %s.%s at offset %d is out of reach", typ, path, off)
	}
	return int16(off), nil
}

func findMemberType(members []btf.Member, field string, base uint32) (btf.Member, uint32, bool) {
	for _, m := range members {
		off := base + uint32(m.Offset)/8
		if m.Name == field {
			return m, off, m.BitfieldSize == 0
		}
		if m.Name != "" {
			continue
		}
		var inner []btf.Member
		switch t := btf.UnderlyingType(m.Type).(type) {
		case *btf.Struct:
			inner = t.Members
		case *btf.Union:
			inner = t.Members
		}
		if mm, o, ok := findMemberType(inner, field, off); ok {
			return mm, o, true
		}
	}
	return btf.Member{}, 0, false
}

// kernelHZ measures the kernel's tick rate, which converts the sockets'
// jiffies stamps (lsndtime, lrcvtime) to milliseconds: a two-instruction
// program returns jiffies, run 60 ms apart. The rates Linux is built with
// (100, 250, 300, 1000) are 2.5 ticks apart at least over that time.
func kernelHZ() (int, error) {
	prog, err := ebpf.NewProgram(&ebpf.ProgramSpec{
		Name: "soak_jiffies", Type: ebpf.SocketFilter, License: "Dual MIT/GPL",
		Instructions: asm.Instructions{fnJiffies64.Call(), asm.Return()},
	})
	if err != nil {
		return 0, bpfLoadError("jiffies probe", err)
	}
	defer prog.Close()
	in := make([]byte, 14)
	run := func() (uint32, time.Time, error) {
		ret, err := prog.Run(&ebpf.RunOptions{Data: in})
		return ret, time.Now(), err
	}
	j0, t0, err := run()
	if err != nil {
		return 0, fmt.Errorf("run jiffies probe: %w", err)
	}
	time.Sleep(60 * time.Millisecond)
	j1, t1, err := run()
	if err != nil {
		return 0, fmt.Errorf("run jiffies probe: %w", err)
	}
	rate := float64(j1-j0) / t1.Sub(t0).Seconds()
	best := 0
	for _, hz := range []int{100, 250, 300, 1000} {
		if best == 0 || abs(float64(hz)-rate) < abs(float64(best)-rate) {
			best = hz
		}
	}
	return best, nil
}

func abs(f float64) float64 {
	if f < 0 {
		return -f
	}
	return f
}

// bpfLoadError names the capabilities a refused load needs.
func bpfLoadError(what string, err error) error {
	if errors.Is(err, unix.EPERM) {
		return fmt.Errorf("load BPF %s: %w: needs CAP_BPF and CAP_PERFMON (or root)", what, unix.EPERM)
	}
	return fmt.Errorf("load BPF %s: %w", what, err)
}

// keventProgram builds the tracepoint program. tgid is the node's process
// id in the initial PID namespace, events the ring buffer, ports the port
// filter (hash of u32 keys), seen the socket storage that marks the sockets
// dialled and followed, lost an array of one u64.
func keventProgram(o sockOffsets, netns uint32, tgid int, events, ports, seen, lost *ebpf.Map, ringSize int) asm.Instructions {
	const (
		ev  = -keventLen // the record on the stack, fp-80..fp-1
		key = ev - 8     // a u32 map key
	)
	return asm.Instructions{
		// Context: u64 args sk, oldstate, newstate.
		asm.LoadMem(asm.R7, asm.R1, 0, asm.DWord),
		asm.LoadMem(asm.R9, asm.R1, 8, asm.DWord),
		asm.LoadMem(asm.R8, asm.R1, 16, asm.DWord),
		asm.JEq.Imm(asm.R8, tcpEstablished, "sock"),
		asm.JEq.Imm(asm.R8, tcpClose, "sock"),
		asm.JEq.Imm(asm.R8, tcpSynSent, "sock"),
		asm.JEq.Imm(asm.R8, tcpFinWait1, "closing"),
		asm.JEq.Imm(asm.R8, tcpCloseWait, "closing"),
		asm.Ja.Label("out"),
		asm.JNE.Imm(asm.R9, tcpEstablished, "out").WithSymbol("closing"),

		asm.JEq.Imm(asm.R7, 0, "out").WithSymbol("sock"),
		asm.LoadMem(asm.R1, asm.R7, o.protocol, asm.Half),
		asm.JNE.Imm(asm.R1, unix.IPPROTO_TCP, "out"),
		asm.LoadMem(asm.R1, asm.R7, o.net, asm.DWord),
		asm.JEq.Imm(asm.R1, 0, "out"),
		asm.LoadMem(asm.R1, asm.R1, o.netInum, asm.Word),
		asm.JNE.Imm32(asm.R1, int32(netns), "out"),
		asm.JEq.Imm(asm.R8, tcpSynSent, "dial"),
		asm.JEq.Imm(asm.R8, tcpEstablished, "established"),

		// A first FIN or a close: sockets followed only, as their storage
		// says (the local port reads 0 by the time they close, so the port
		// filter would not do). Any mark goes at the close.
		asm.LoadMapPtr(asm.R1, seen.FD()),
		asm.Mov.Reg(asm.R2, asm.R7),
		asm.Mov.Imm(asm.R3, 0),
		asm.Mov.Imm(asm.R4, 0),
		fnSkStorageGet.Call(),
		asm.JEq.Imm(asm.R0, 0, "out"),
		asm.LoadMem(asm.R6, asm.R0, 0, asm.Byte),
		asm.JNE.Imm(asm.R8, tcpClose, "marked"),
		asm.LoadMapPtr(asm.R1, seen.FD()),
		asm.Mov.Reg(asm.R2, asm.R7),
		fnSkStorageDelete.Call(),
		asm.JNE.Imm(asm.R6, kevFollowed, "out").WithSymbol("marked"),
		asm.Ja.Label("match"),

		// connect() moves a socket to SYN_SENT in the dialling task: mark
		// the node's own dials (the only moment its tgid can be known).
		asm.FnGetCurrentPidTgid.Call().WithSymbol("dial"),
		asm.RSh.Imm(asm.R0, 32),
		asm.JNE.Imm(asm.R0, int32(tgid), "out"),
		asm.LoadMapPtr(asm.R1, seen.FD()),
		asm.Mov.Reg(asm.R2, asm.R7),
		asm.Mov.Imm(asm.R3, 0),
		asm.Mov.Imm(asm.R4, bpfSkStorageGetFCreate),
		fnSkStorageGet.Call(),
		asm.JEq.Imm(asm.R0, 0, "lost"),
		asm.StoreImm(asm.R0, 0, kevDialled, asm.Byte),
		asm.Ja.Label("out"),

		// A new connection: dialled by the node (marked at SYN_SENT), or
		// accepted on a port the node listens on.
		asm.JEq.Imm(asm.R9, tcpSynSent, "dialled").WithSymbol("established"),
		asm.LoadMem(asm.R1, asm.R7, o.num, asm.Half),
		asm.Or.Imm(asm.R1, kevListenKey),
		asm.StoreMem(asm.RFP, key, asm.R1, asm.Word),
		asm.LoadMapPtr(asm.R1, ports.FD()),
		asm.Mov.Reg(asm.R2, asm.RFP),
		asm.Add.Imm(asm.R2, key),
		asm.FnMapLookupElem.Call(),
		asm.JEq.Imm(asm.R0, 0, "out"),
		asm.Ja.Label("ports"),
		asm.LoadMapPtr(asm.R1, seen.FD()).WithSymbol("dialled"),
		asm.Mov.Reg(asm.R2, asm.R7),
		asm.Mov.Imm(asm.R3, 0),
		asm.Mov.Imm(asm.R4, 0),
		fnSkStorageGet.Call(),
		asm.JEq.Imm(asm.R0, 0, "out"),
		asm.LoadMem(asm.R1, asm.R0, 0, asm.Byte),
		asm.JNE.Imm(asm.R1, kevDialled, "out"),

		// The port filter, local port then remote port.
		asm.LoadMem(asm.R1, asm.R7, o.num, asm.Half).WithSymbol("ports"),
		asm.StoreMem(asm.RFP, key, asm.R1, asm.Word),
		asm.LoadMapPtr(asm.R1, ports.FD()),
		asm.Mov.Reg(asm.R2, asm.RFP),
		asm.Add.Imm(asm.R2, key),
		asm.FnMapLookupElem.Call(),
		asm.JNE.Imm(asm.R0, 0, "follow"),
		asm.LoadMem(asm.R1, asm.R7, o.dport, asm.Half),
		asm.HostTo(asm.BE, asm.R1, asm.Half),
		asm.Or.Imm(asm.R1, kevRemoteKey),
		asm.StoreMem(asm.RFP, key, asm.R1, asm.Word),
		asm.LoadMapPtr(asm.R1, ports.FD()),
		asm.Mov.Reg(asm.R2, asm.RFP),
		asm.Add.Imm(asm.R2, key),
		asm.FnMapLookupElem.Call(),
		asm.JEq.Imm(asm.R0, 0, "out"),
		// Mark the socket followed; storage that cannot be allocated
		// loses the connection, counted as lost.
		asm.LoadMapPtr(asm.R1, seen.FD()).WithSymbol("follow"),
		asm.Mov.Reg(asm.R2, asm.R7),
		asm.Mov.Imm(asm.R3, 0),
		asm.Mov.Imm(asm.R4, bpfSkStorageGetFCreate),
		fnSkStorageGet.Call(),
		asm.JEq.Imm(asm.R0, 0, "lost"),
		asm.StoreImm(asm.R0, 0, kevFollowed, asm.Byte),

		// The record: sk, time, bytes in, bytes out, idle since send and
		// receive (jiffies), local port, remote port (network order),
		// family (a byte), peer's FIN seen (a byte), old state, new state,
		// local address, remote address.
		asm.StoreMem(asm.RFP, ev, asm.R7, asm.DWord).WithSymbol("match"),
		asm.FnKtimeGetNs.Call(),
		asm.StoreMem(asm.RFP, ev+8, asm.R0, asm.DWord),
		asm.LoadMem(asm.R1, asm.R7, o.num, asm.Half),
		asm.StoreMem(asm.RFP, ev+40, asm.R1, asm.Half),
		asm.LoadMem(asm.R1, asm.R7, o.dport, asm.Half),
		asm.StoreMem(asm.RFP, ev+42, asm.R1, asm.Half),
		// The socket's SOCK_DONE flag (bit 1) is set when the peer's FIN
		// arrived: the FIN's sequence number is counted as a byte received.
		asm.LoadMem(asm.R1, asm.R7, o.flags, asm.DWord),
		asm.RSh.Imm(asm.R1, 1),
		asm.And.Imm(asm.R1, 1),
		asm.StoreMem(asm.RFP, ev+45, asm.R1, asm.Byte),
		asm.LoadMem(asm.R1, asm.R7, o.family, asm.Half),
		asm.StoreMem(asm.RFP, ev+44, asm.R1, asm.Byte),
		asm.StoreMem(asm.RFP, ev+46, asm.R9, asm.Byte),
		asm.StoreMem(asm.RFP, ev+47, asm.R8, asm.Byte),
		asm.Mov.Imm(asm.R2, 0),
		asm.StoreMem(asm.RFP, ev+48, asm.R2, asm.DWord),
		asm.StoreMem(asm.RFP, ev+56, asm.R2, asm.DWord),
		asm.StoreMem(asm.RFP, ev+64, asm.R2, asm.DWord),
		asm.StoreMem(asm.RFP, ev+72, asm.R2, asm.DWord),
		asm.JEq.Imm(asm.R1, unix.AF_INET6, "v6"),
		asm.LoadMem(asm.R1, asm.R7, o.saddr, asm.Word),
		asm.StoreMem(asm.RFP, ev+48, asm.R1, asm.Word),
		asm.LoadMem(asm.R1, asm.R7, o.daddr, asm.Word),
		asm.StoreMem(asm.RFP, ev+64, asm.R1, asm.Word),
		asm.Ja.Label("tcp"),
		asm.LoadMem(asm.R1, asm.R7, o.saddr6, asm.DWord).WithSymbol("v6"),
		asm.StoreMem(asm.RFP, ev+48, asm.R1, asm.DWord),
		asm.LoadMem(asm.R1, asm.R7, o.saddr6+8, asm.DWord),
		asm.StoreMem(asm.RFP, ev+56, asm.R1, asm.DWord),
		asm.LoadMem(asm.R1, asm.R7, o.daddr6, asm.DWord),
		asm.StoreMem(asm.RFP, ev+64, asm.R1, asm.DWord),
		asm.LoadMem(asm.R1, asm.R7, o.daddr6+8, asm.DWord),
		asm.StoreMem(asm.RFP, ev+72, asm.R1, asm.DWord),

		// The tcp_sock's own figures: bytes each way, and jiffies since
		// the last data sent and received.
		asm.Mov.Imm(asm.R2, 0).WithSymbol("tcp"),
		asm.StoreMem(asm.RFP, ev+16, asm.R2, asm.DWord),
		asm.StoreMem(asm.RFP, ev+24, asm.R2, asm.DWord),
		asm.StoreMem(asm.RFP, ev+32, asm.R2, asm.DWord),
		asm.Mov.Reg(asm.R1, asm.R7),
		fnSkcToTCPSock.Call(),
		asm.JEq.Imm(asm.R0, 0, "emit"),
		asm.Mov.Reg(asm.R6, asm.R0),
		asm.LoadMem(asm.R1, asm.R6, o.bytesReceived, asm.DWord),
		asm.StoreMem(asm.RFP, ev+16, asm.R1, asm.DWord),
		asm.LoadMem(asm.R1, asm.R6, o.acked, asm.DWord),
		asm.StoreMem(asm.RFP, ev+24, asm.R1, asm.DWord),
		fnJiffies64.Call(),
		asm.Mov.Reg(asm.R2, asm.R0),
		asm.LoadMem(asm.R1, asm.R6, o.lsndtime, asm.Word),
		asm.Sub.Reg32(asm.R2, asm.R1),
		asm.StoreMem(asm.RFP, ev+32, asm.R2, asm.Word),
		asm.LoadMem(asm.R1, asm.R6, o.lrcvtime, asm.Word),
		asm.Sub.Reg32(asm.R0, asm.R1),
		asm.StoreMem(asm.RFP, ev+36, asm.R0, asm.Word),

		// The reader is woken only when a quarter of the ring is full; it
		// reads every kevReadEvery anyway. A wake-up per event cost more CPU
		// than all the rest at 1,000 connections a second.
		asm.LoadMapPtr(asm.R1, events.FD()).WithSymbol("emit"),
		asm.Mov.Imm(asm.R2, bpfRBAvailData),
		fnRingbufQuery.Call(),
		asm.Mov.Imm(asm.R4, bpfRBNoWakeup),
		asm.JLT.Imm(asm.R0, int32(ringSize/4), "output"),
		asm.Mov.Imm(asm.R4, bpfRBForceWakeup),
		asm.LoadMapPtr(asm.R1, events.FD()).WithSymbol("output"),
		asm.Mov.Reg(asm.R2, asm.RFP),
		asm.Add.Imm(asm.R2, ev),
		asm.Mov.Imm(asm.R3, keventLen),
		fnRingbufOutput.Call(),
		asm.JEq.Imm(asm.R0, 0, "out"),
		// The ring is full: count the event as lost.
		asm.StoreImm(asm.RFP, key, 0, asm.Word).WithSymbol("lost"),
		asm.LoadMapPtr(asm.R1, lost.FD()),
		asm.Mov.Reg(asm.R2, asm.RFP),
		asm.Add.Imm(asm.R2, key),
		asm.FnMapLookupElem.Call(),
		asm.JEq.Imm(asm.R0, 0, "out"),
		asm.Mov.Imm(asm.R1, 1),
		asm.StoreXAdd(asm.R0, asm.R1, asm.DWord),

		asm.Mov.Imm(asm.R0, 0).WithSymbol("out"),
		asm.Return(),
	}
}
