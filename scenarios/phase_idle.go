package scenarios

import (
	"fmt"
	"net"
	"time"
)

// Idle opens Connections keep-alive connections, makes one request on each,
// then holds them silent for Duration, or, with Until "closed", until the
// SUT has closed each of them (at most Max).
type Idle struct {
	Connections int `yaml:"connections" json:"connections"`
	// Duration is how long the connections are held. Required unless Until is "closed".
	Duration Duration `yaml:"duration,omitempty" json:"duration,omitempty"`
	// Until "closed" holds each connection until the SUT closes it, so the
	// run measures the server's real idle timeout (client witness: idle
	// before close) instead of a lower bound; the phase ends when all are
	// closed, or after Max (the rest are then closed by the client, and
	// count as lower bounds). Default "": hold for Duration.
	Until string `yaml:"until,omitempty" json:"until,omitempty"`
	// Max bounds a hold until closed. Required with Until "closed"; give
	// it more than the idle timeout you expect.
	Max Duration `yaml:"max,omitempty" json:"max,omitempty"`
	// Target is the request made on each connection. Default "GET /".
	Target string `yaml:"target,omitempty" json:"target,omitempty"`
	// ProbeReuse sends one more request on each after the hold and counts
	// how many found their connection closed by the server.
	ProbeReuse bool `yaml:"probe_reuse,omitempty" json:"probe_reuse,omitempty"`
	// OpenRate caps how fast connections are opened. Default 0: as fast as possible.
	OpenRate Rate `yaml:"open_rate,omitempty" json:"open_rate,omitempty"`
	// SourceAddrs are local IP addresses the connections are opened from,
	// round-robin: each has its own ephemeral port range towards the
	// server, so one machine holds more connections to one server
	// address than one range allows (a pod or host with several
	// addresses; on loopback, 127.0.0.2...). Default: the kernel's
	// choice, spread over 127.0.0.x on its own when a loopback target
	// needs it (docs/load.md). At most MaxSourceAddrs.
	SourceAddrs []string `yaml:"source_addrs,omitempty" json:"source_addrs,omitempty"`
}

// MaxSourceAddrs bounds an idle hold's source_addrs.
const MaxSourceAddrs = 256

var _ PhaseSpec = (*Idle)(nil)

// Kind implements PhaseSpec.
func (*Idle) Kind() string { return "idle" }

// IdleUntilClosed is the Until value that holds until the SUT closes.
const IdleUntilClosed = "closed"

// Hold is how long the connections are held at most.
func (i *Idle) Hold() time.Duration {
	if i.Until == IdleUntilClosed {
		return i.Max.D()
	}
	return i.Duration.D()
}

// Planned implements PhaseSpec: the longest hold.
func (i *Idle) Planned() time.Duration { return i.Hold() }

// MaxConnections implements PhaseSpec.
func (i *Idle) MaxConnections() int { return i.Connections }

func (i *Idle) scale(f func(*Duration)) { f(&i.Duration); f(&i.Max) }

func (i *Idle) validate(v *validator, k string) {
	v.positive(k+".connections", i.Connections, "connections to hold")
	v.atMost(k+".connections", i.Connections, MaxConnections)
	switch i.Until {
	case "":
		v.positiveDuration(k+".duration", i.Duration)
		if i.Max != 0 {
			v.fail(k+".max", "only with until: closed (the hold lasts duration)")
		}
	case IdleUntilClosed:
		v.positiveDuration(k+".max", i.Max)
		if i.Duration != 0 {
			v.fail(k+".duration", "not with until: closed; give max, the longest the hold may last")
		}
	default:
		v.fail(k+".until", "%q: want closed (hold each connection until the SUT closes it), or leave it out", i.Until)
	}
	v.target(k+".target", i.Target)
	if len(i.SourceAddrs) > MaxSourceAddrs {
		v.fail(k+".source_addrs", "%d addresses; at most %d", len(i.SourceAddrs), MaxSourceAddrs)
	}
	for j, a := range i.SourceAddrs {
		if ip := net.ParseIP(a); ip == nil || ip.IsUnspecified() || ip.IsMulticast() {
			v.fail(fmt.Sprintf("%s.source_addrs[%d]", k, j), "%q is not a local IP address to connect from, e.g. 127.0.0.2 or 10.0.0.5", a)
		}
	}
}

func (i *Idle) shard(g Segment) bool {
	if i.OpenRate.Freq > 0 {
		i.OpenRate.Freq = max(g.Part(i.OpenRate.Freq), 1) // 0 would lift the cap
	}
	return g.count(&i.Connections)
}
