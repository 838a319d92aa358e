package testsut

import (
	"fmt"
	"sort"
	"strings"
)

// Leak names a bug the reference SUT can switch on. Each is a real bug seen
// in the wild and shows up only under load and time.
type Leak string

// The named leaks.
const (
	// LeakServerNoIdleTimeout: the node's server never reclaims idle
	// connections (IdleTimeout 0 and ReadTimeout 0).
	LeakServerNoIdleTimeout Leak = "server-no-idle-timeout"
	// LeakIntraNoIdleTimeout: the proxy keeps idle connections to targets
	// forever (IdleConnTimeout 0 / MaxIdleConnDuration huge) in a large pool.
	LeakIntraNoIdleTimeout Leak = "intra-no-idle-timeout"
	// LeakBackendBodyNotClosed: the target never closes backend response
	// bodies, and stats objects with a GET whose body it never reads, so
	// those backend connections are never reused nor reclaimed.
	LeakBackendBodyNotClosed Leak = "backend-body-not-closed"
	// LeakBackendTransportPerRequest: the target makes a new http.Transport
	// (no idle timeout) for every backend request and never closes it.
	LeakBackendTransportPerRequest Leak = "backend-transport-per-request"
	// LeakGoroutinePerRequest: one goroutine per request blocks forever; no
	// connection leaks.
	LeakGoroutinePerRequest Leak = "goroutine-per-request"
	// LeakCloseWait: the node's server never closes accepted connections, so
	// when the peer closes one it stays in CLOSE_WAIT with its fd.
	LeakCloseWait Leak = "close-wait"
)

var knownLeaks = map[Leak]string{
	LeakServerNoIdleTimeout:        "server never reclaims idle client connections",
	LeakIntraNoIdleTimeout:         "proxy keeps idle connections to targets forever",
	LeakBackendBodyNotClosed:       "target never closes backend response bodies",
	LeakBackendTransportPerRequest: "target makes a new http.Transport per backend request",
	LeakGoroutinePerRequest:        "one goroutine per request blocks forever",
	LeakCloseWait:                  "server ignores the peer's close (CLOSE_WAIT)",
}

func (l Leak) valid() bool { _, ok := knownLeaks[l]; return ok }

func leakNames() []string {
	names := make([]string, 0, len(knownLeaks))
	for l := range knownLeaks {
		names = append(names, string(l))
	}
	sort.Strings(names)
	return names
}

// Leaks returns every known leak with a one-line description (a copy).
func Leaks() map[Leak]string {
	m := make(map[Leak]string, len(knownLeaks))
	for k, v := range knownLeaks {
		m[k] = v
	}
	return m
}

// ParseLeaks parses a comma-separated list of leak names; empty gives none.
func ParseLeaks(s string) ([]Leak, error) {
	var out []Leak
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		l := Leak(f)
		if !l.valid() {
			return nil, fmt.Errorf("%w: unknown leak %q (known: %s)", ErrConfig, f, strings.Join(leakNames(), ", "))
		}
		out = append(out, l)
	}
	return out, nil
}
