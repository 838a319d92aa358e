package isolate

import (
	"fmt"
	"net"
	"os"
	"syscall"

	"github.com/vishvananda/netlink"
)

// namespaceAttr asks for a new network namespace; when not root, inside a
// new user namespace that maps the caller to root, which the kernel allows
// unprivileged where user namespaces are enabled.
func namespaceAttr() *syscall.SysProcAttr {
	a := &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWNET, Pdeathsig: syscall.SIGKILL}
	if os.Geteuid() != 0 {
		a.Cloneflags |= syscall.CLONE_NEWUSER
		a.UidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Geteuid(), Size: 1}}
		a.GidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getegid(), Size: 1}}
	}
	return a
}

// SetUpLoopback brings up lo in this process's namespace and adds the
// addresses (127.0.0.1 is there once lo is up).
func SetUpLoopback(addrs []string) error {
	lo, err := netlink.LinkByName("lo")
	if err != nil {
		return fmt.Errorf("isolate: find lo: %w", err)
	}
	if err := netlink.LinkSetUp(lo); err != nil {
		return fmt.Errorf("isolate: bring lo up: %w", err)
	}
	for _, a := range addrs {
		ip := net.ParseIP(a)
		if ip == nil {
			return fmt.Errorf("isolate: %q is not an IP address", a)
		}
		if ip.Equal(net.IPv4(127, 0, 0, 1)) || ip.Equal(net.IPv6loopback) {
			continue
		}
		bits := 32
		if ip.To4() == nil {
			bits = 128
		}
		addr := &netlink.Addr{IPNet: &net.IPNet{IP: ip, Mask: net.CIDRMask(bits, bits)}}
		if err := netlink.AddrAdd(lo, addr); err != nil {
			return fmt.Errorf("isolate: add %s to lo: %w", a, err)
		}
	}
	return nil
}

// NetNS names this process's network namespace, e.g. "net:[4026532281]".
func NetNS() string {
	s, _ := os.Readlink("/proc/self/ns/net")
	return s
}
