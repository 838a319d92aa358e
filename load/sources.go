package load

import (
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
)

// maxSources is how many 127.0.0.x source addresses connections may be
// spread over.
const maxSources = 16

// sources hands out source addresses round-robin. A nil *sources (or one
// with no addresses) lets the kernel pick, the usual case.
type sources struct {
	ips []net.IP
	n   atomic.Uint64
}

func (s *sources) next() net.IP {
	if s == nil || len(s.ips) == 0 {
		return nil
	}
	return s.ips[s.n.Add(1)%uint64(len(s.ips))]
}

// count is how many source addresses are in use (0: the kernel's choice).
func (s *sources) count() int {
	if s == nil {
		return 0
	}
	return len(s.ips)
}

// sourcesFor spreads connections over 127.0.0.1..127.0.0.k when the target
// is on loopback and need sockets (open or in TIME_WAIT) from one source
// address would use more than half the ephemeral port range: each source
// address has its own port space towards the same destination.
func sourcesFor(target string, need int) *sources {
	host := target
	if u, err := url.Parse(target); err == nil && u.Host != "" {
		host = u.Hostname()
	} else if h, _, err := net.SplitHostPort(target); err == nil {
		host = h
	}
	ip := net.ParseIP(host)
	if host == "localhost" {
		ip = net.IPv4(127, 0, 0, 1)
	}
	if ip == nil || !ip.IsLoopback() || ip.To4() == nil {
		return nil
	}
	ports := ephemeralPorts()
	if need <= ports/2 {
		return nil
	}
	k := min((need+ports/2-1)/(ports/2), maxSources)
	s := &sources{}
	for i := 1; i <= k; i++ {
		s.ips = append(s.ips, net.IPv4(127, 0, 0, byte(i)))
	}
	return s
}

// ephemeralPorts is the size of the kernel's ephemeral port range
// (Linux: /proc/sys/net/ipv4/ip_local_port_range; else the IANA range).
func ephemeralPorts() int {
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err == nil {
		f := strings.Fields(string(b))
		if len(f) == 2 {
			lo, err1 := strconv.Atoi(f[0])
			hi, err2 := strconv.Atoi(f[1])
			if err1 == nil && err2 == nil && hi > lo {
				return hi - lo + 1
			}
		}
	}
	return 65535 - 49152 + 1
}

// sourcesFrom is the phase's own source addresses when it lists some
// (validated as IP addresses), else sourcesFor's choice.
func sourcesFrom(addrs []string, target string, need int) *sources {
	if len(addrs) == 0 {
		return sourcesFor(target, need)
	}
	s := &sources{}
	for _, a := range addrs {
		if ip := net.ParseIP(a); ip != nil {
			s.ips = append(s.ips, ip)
		}
	}
	return s
}
