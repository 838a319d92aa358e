package probes

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// netlinkTimeout bounds one send or receive on the sock_diag socket.
const netlinkTimeout = 2 * time.Second

// diag dumps TCP sockets with tcp_info over one sock_diag netlink socket,
// opened in the network namespace of the target.
type diag struct {
	h *netlink.Handle
}

// openDiag opens the sock_diag socket in the target's network namespace
// (nsPath, e.g. /proc/PID/ns/net) when other is set, else in ours.
func openDiag(pid int, other bool) (*diag, error) {
	var (
		h   *netlink.Handle
		err error
	)
	if other {
		ns, nerr := netns.GetFromPid(pid)
		if nerr != nil {
			return nil, fmt.Errorf("open network namespace of pid %d (/proc/%d/ns/net): %w: %s", pid, pid, nerr, privilegeHint)
		}
		defer ns.Close()
		h, err = netlink.NewHandleAt(ns, unix.NETLINK_INET_DIAG)
		if err != nil {
			return nil, fmt.Errorf("enter network namespace of pid %d: %w: %s", pid, err, privilegeHint)
		}
	} else {
		h, err = netlink.NewHandle(unix.NETLINK_INET_DIAG)
		if err != nil {
			return nil, fmt.Errorf("open sock_diag netlink socket: %w", err)
		}
	}
	if err := h.SetSocketTimeout(netlinkTimeout); err != nil {
		h.Close()
		return nil, fmt.Errorf("set sock_diag timeout: %w", err)
	}
	return &diag{h: h}, nil
}

// privilegeHint says what entering another network namespace needs.
const privilegeHint = "probing a process in another network namespace needs CAP_SYS_ADMIN (run soak as root, " +
	"or with sudo / setcap cap_sys_admin,cap_sys_ptrace+ep), or run soak inside the SUT's namespace " +
	"(e.g. nsenter -t PID -n soak ...)"

// dump lists IPv4 and IPv6 TCP sockets. An interrupted dump keeps what it
// got and reports partial.
func (d *diag) dump(buf []sock) (out []sock, partial bool, err error) {
	out = buf[:0]
	for _, fam := range []uint8{unix.AF_INET, unix.AF_INET6} {
		res, err := d.h.SocketDiagTCPInfo(fam)
		if errors.Is(err, netlink.ErrDumpInterrupted) {
			partial = true
		} else if err != nil {
			return out, partial, fmt.Errorf("sock_diag dump (family %d): %w", fam, err)
		}
		for _, r := range res {
			m := r.InetDiagMsg
			if m == nil {
				continue
			}
			s := sock{
				local:  ipPort(m.ID.Source, m.ID.SourcePort),
				remote: ipPort(m.ID.Destination, m.ID.DestinationPort),
				state:  m.State,
				inode:  m.INode,
				idleMs: -1,
			}
			if ti := r.TCPInfo; ti != nil {
				s.idleMs = int64(min(ti.Last_data_recv, ti.Last_data_sent))
			}
			out = append(out, s)
		}
	}
	return out, partial, nil
}

func (d *diag) close() { d.h.Close() }

func ipPort(ip net.IP, port uint16) netip.AddrPort {
	a, _ := netip.AddrFromSlice(ip)
	return netip.AddrPortFrom(a.Unmap(), port)
}

// netNS returns the network namespace link of a process, e.g. "net:[4026531840]".
func netNS(pid string) (string, error) {
	l, err := os.Readlink("/proc/" + pid + "/ns/net")
	if err != nil {
		return "", fmt.Errorf("read network namespace: %w", err)
	}
	return l, nil
}
