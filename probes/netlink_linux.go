package probes

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"runtime"
	"time"

	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// netlinkTimeout bounds one send or receive on the sock_diag socket.
const netlinkTimeout = 2 * time.Second

// The request and its parse are written here rather than taken from a
// library: vishvananda/netlink's SocketDiagTCPInfo (used before) allocates a
// response, an attribute slice and a decoded tcp_info per socket and sends
// no filter, and at 20k sockets its Go side and GC cost twice the kernel's
// dump. A request plus a parse of two structs is small enough to own: one
// buffer is reused, only the two idle fields of tcp_info are read, and one
// compat TCPDIAG_GETSOCK request lists IPv4 and IPv6 in one walk of the
// kernel's hash (a SOCK_DIAG_BY_FAMILY request walks it once per family).
const (
	tcpdiagGetsock    = 18 // TCPDIAG_GETSOCK (linux/inet_diag.h): the compat request, both families
	inetDiagReqBC     = 1  // INET_DIAG_REQ_BYTECODE
	inetDiagInfo      = 2  // INET_DIAG_INFO: struct tcp_info
	inetDiagReqLen    = 60 // struct inet_diag_req
	inetDiagMsgLen    = 72 // struct inet_diag_msg
	nlmsgHdrLen       = 16
	nlmFDumpIntr      = 0x10 // NLM_F_DUMP_INTR: the table changed during the dump
	tcpiLastDataSent  = 44   // offsets in struct tcp_info
	tcpiLastDataRecv  = 52
	diagRecvBufferLen = 64 << 10 // the kernel fills at most ~32 KiB per read
)

// diag dumps TCP sockets with tcp_info over one sock_diag netlink socket,
// opened in the network namespace of the target.
type diag struct {
	fd    int
	pid   int
	other bool // the socket lives in the target's namespace, not ours
	seq   uint32
	req   []byte
	buf   []byte
}

// openDiag opens the sock_diag socket in the network namespace of pid when
// other is set, else in ours.
func openDiag(pid int, other bool) (*diag, error) {
	d := &diag{fd: -1, pid: pid, other: other, buf: make([]byte, diagRecvBufferLen)}
	if err := d.open(); err != nil {
		return nil, err
	}
	return d, nil
}

func (d *diag) open() error {
	var (
		fd  int
		err error
	)
	if d.other {
		ns, nerr := netns.GetFromPid(d.pid)
		if nerr != nil {
			return fmt.Errorf("open network namespace of pid %d (/proc/%d/ns/net): %w: %s", d.pid, d.pid, nerr, privilegeHint)
		}
		fd, err = socketAt(ns)
		ns.Close()
		if err != nil {
			return fmt.Errorf("enter network namespace of pid %d: %w: %s", d.pid, err, privilegeHint)
		}
	} else {
		fd, err = unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_INET_DIAG)
		if err != nil {
			return fmt.Errorf("open sock_diag netlink socket: %w", err)
		}
	}
	tv := unix.NsecToTimeval(netlinkTimeout.Nanoseconds())
	for _, opt := range []int{unix.SO_RCVTIMEO, unix.SO_SNDTIMEO} {
		if err := unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, opt, &tv); err != nil {
			unix.Close(fd)
			return fmt.Errorf("set sock_diag timeout: %w", err)
		}
	}
	d.fd = fd
	return nil
}

// socketAt creates a sock_diag socket inside ns: a socket keeps the
// namespace it was created in. The switch happens on a locked thread of a
// goroutine of its own; a thread that cannot switch back is not unlocked,
// so the runtime ends it rather than reuse it in the wrong namespace.
func socketAt(ns netns.NsHandle) (int, error) {
	type result struct {
		fd  int
		err error
	}
	ch := make(chan result, 1)
	go func() {
		runtime.LockOSThread()
		cur, err := netns.Get()
		if err != nil {
			runtime.UnlockOSThread()
			ch <- result{-1, err}
			return
		}
		defer cur.Close()
		if err := netns.Set(ns); err != nil {
			runtime.UnlockOSThread()
			ch <- result{-1, err}
			return
		}
		fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_INET_DIAG)
		if serr := netns.Set(cur); serr != nil {
			if err == nil {
				unix.Close(fd)
			}
			ch <- result{-1, fmt.Errorf("switch back to our network namespace: %w", serr)}
			return // still locked: the thread dies with the goroutine
		}
		runtime.UnlockOSThread()
		ch <- result{fd, err}
	}()
	r := <-ch
	return r.fd, r.err
}

// privilegeHint says what entering another network namespace needs.
const privilegeHint = "probing a process in another network namespace needs CAP_SYS_ADMIN (run soak as root, " +
	"or with sudo / setcap cap_sys_admin,cap_sys_ptrace+ep), or run soak inside the SUT's namespace " +
	"(e.g. nsenter -t PID -n soak ...)"

// dump lists IPv4 and IPv6 TCP sockets in all states, keeping those that
// pass filter (INET_DIAG bytecode; nil keeps all). An interrupted dump
// keeps what it got and reports partial. After an error the socket is
// reopened on the next dump, so a late reply of a failed dump is never
// read as part of the next one.
func (d *diag) dump(buf []sock, filter []byte) (out []sock, partial bool, err error) {
	out = buf[:0]
	if d.fd < 0 {
		if err := d.open(); err != nil {
			return out, false, err
		}
	}
	out, partial, err = d.run(out, filter)
	if err != nil {
		d.close()
	}
	return out, partial, err
}

func (d *diag) run(out []sock, filter []byte) ([]sock, bool, error) {
	d.seq++
	d.req = appendDiagRequest(d.req[:0], d.seq, filter)
	if err := unix.Sendto(d.fd, d.req, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return out, false, fmt.Errorf("sock_diag request: %w", err)
	}
	partial := false
	for {
		n, _, err := unix.Recvfrom(d.fd, d.buf, 0)
		if err != nil {
			if errors.Is(err, unix.EINTR) {
				continue
			}
			return out, partial, fmt.Errorf("sock_diag read: %w", err)
		}
		done := false
		out, done, partial, err = parseDiag(d.buf[:n], d.seq, out, partial)
		if err != nil || done {
			return out, partial, err
		}
	}
}

// appendDiagRequest appends a TCPDIAG_GETSOCK dump request: all states,
// tcp_info, both address families, and the bytecode filter if any.
func appendDiagRequest(b []byte, seq uint32, filter []byte) []byte {
	le := binary.NativeEndian // netlink headers and the diag structs are in host order
	attrLen := 0
	if len(filter) > 0 {
		attrLen = 4 + len(filter) // bytecode ops are 4-byte aligned
	}
	total := nlmsgHdrLen + inetDiagReqLen + attrLen
	b = le.AppendUint32(b, uint32(total))
	b = le.AppendUint16(b, tcpdiagGetsock)
	b = le.AppendUint16(b, unix.NLM_F_REQUEST|unix.NLM_F_DUMP)
	b = le.AppendUint32(b, seq)
	b = le.AppendUint32(b, 0) // port id: the kernel's
	// struct inet_diag_req: family (AF_UNSPEC with this compat request), src_len, dst_len, ext.
	b = append(b, unix.AF_UNSPEC, 0, 0, 1<<(inetDiagInfo-1))
	b = append(b, make([]byte, 48)...) // inet_diag_sockid: no particular socket
	b = le.AppendUint32(b, 0xfff)      // idiag_states: all
	b = le.AppendUint32(b, 0)          // idiag_dbs
	if attrLen > 0 {
		b = le.AppendUint16(b, uint16(attrLen))
		b = le.AppendUint16(b, inetDiagReqBC)
		b = append(b, filter...)
	}
	return b
}

var errDiagTruncated = errors.New("sock_diag: truncated message")

// parseDiag appends the sockets of one read of a dump to out. done is set
// at NLMSG_DONE; replies to an older request (another seq) are skipped.
func parseDiag(b []byte, seq uint32, out []sock, partial bool) (_ []sock, done, _ bool, err error) {
	le := binary.NativeEndian
	for len(b) >= nlmsgHdrLen {
		l := int(le.Uint32(b))
		if l < nlmsgHdrLen || l > len(b) {
			return out, false, partial, errDiagTruncated
		}
		typ, flags, mseq := le.Uint16(b[4:]), le.Uint16(b[6:]), le.Uint32(b[8:])
		msg := b[nlmsgHdrLen:l]
		b = b[min(len(b), (l+3)&^3):]
		if mseq != seq {
			continue
		}
		if flags&nlmFDumpIntr != 0 {
			partial = true
		}
		switch typ {
		case unix.NLMSG_DONE:
			if len(msg) >= 4 {
				if e := int32(le.Uint32(msg)); e < 0 {
					return out, true, partial, fmt.Errorf("sock_diag dump: %w", unix.Errno(-e))
				}
			}
			return out, true, partial, nil
		case unix.NLMSG_ERROR:
			if len(msg) >= 4 {
				if e := int32(le.Uint32(msg)); e < 0 {
					return out, true, partial, fmt.Errorf("sock_diag dump: %w", unix.Errno(-e))
				}
			}
			return out, true, partial, nil // an ack: nothing more follows
		case tcpdiagGetsock:
			s, ok := parseDiagMsg(msg)
			if !ok {
				return out, false, partial, errDiagTruncated
			}
			out = append(out, s)
		}
	}
	return out, false, partial, nil
}

// parseDiagMsg reads one struct inet_diag_msg and its INET_DIAG_INFO attribute.
func parseDiagMsg(m []byte) (sock, bool) {
	if len(m) < inetDiagMsgLen {
		return sock{}, false
	}
	le, be := binary.NativeEndian, binary.BigEndian
	fam := m[0]
	s := sock{
		local:  diagAddrPort(fam, m[8:24], be.Uint16(m[4:])),
		remote: diagAddrPort(fam, m[24:40], be.Uint16(m[6:])),
		state:  m[1],
		inode:  le.Uint32(m[68:]),
		idleMs: -1,
	}
	for a := m[inetDiagMsgLen:]; len(a) >= 4; {
		l, typ := int(le.Uint16(a)), le.Uint16(a[2:])
		if l < 4 || l > len(a) {
			return sock{}, false
		}
		if typ == inetDiagInfo && l >= 4+tcpiLastDataRecv+4 {
			ti := a[4:l]
			s.idleMs = int64(min(le.Uint32(ti[tcpiLastDataRecv:]), le.Uint32(ti[tcpiLastDataSent:])))
		}
		a = a[min(len(a), (l+3)&^3):]
	}
	return s, true
}

// diagAddrPort decodes an inet_diag address (network order, 16 bytes; IPv4
// in the first 4) and port; IPv4-mapped IPv6 addresses become IPv4.
func diagAddrPort(fam byte, a []byte, port uint16) netip.AddrPort {
	if fam == unix.AF_INET {
		return netip.AddrPortFrom(netip.AddrFrom4([4]byte(a[:4])), port)
	}
	return netip.AddrPortFrom(netip.AddrFrom16([16]byte(a[:16])).Unmap(), port)
}

func (d *diag) close() {
	if d.fd >= 0 {
		unix.Close(d.fd)
		d.fd = -1
	}
}

// netNS returns the network namespace link at path (root/PID/ns/net),
// e.g. "net:[4026531840]".
func netNS(path string) (string, error) {
	l, err := os.Readlink(path)
	if err != nil {
		return "", fmt.Errorf("read network namespace: %w", err)
	}
	return l, nil
}
