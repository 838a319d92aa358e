package probes

import (
	"context"
	"fmt"
	"slices"

	gnet "github.com/shirou/gopsutil/v4/net"
)

// GuessedLayer names the layer GuessLayers makes of a process's listening
// ports: the connections its clients opened to it.
const GuessedLayer = "server"

// GuessLayers makes layer rules for a process probed without any: its TCP
// listening ports, read once, are the server side of layer "server"; the
// rest stays "other". It returns nil when the process listens on nothing
// (or cannot be read).
func GuessLayers(ctx context.Context, pid int) []LayerRule {
	conns, err := gnet.ConnectionsPidWithContext(ctx, "tcp", int32(pid))
	if err != nil {
		return nil
	}
	var ports []int
	for _, c := range conns {
		if c.Status == "LISTEN" && !slices.Contains(ports, int(c.Laddr.Port)) {
			ports = append(ports, int(c.Laddr.Port))
		}
	}
	if len(ports) == 0 {
		return nil
	}
	slices.Sort(ports)
	return []LayerRule{{Name: GuessedLayer, LocalPorts: ports}}
}

// String gives the rule in --layer syntax (name=local:P,P or name=remote:P).
func (r LayerRule) String() string {
	side, ports := "local", r.LocalPorts
	if len(ports) == 0 {
		side, ports = "remote", r.RemotePorts
	}
	s := fmt.Sprintf("%s=%s:", r.Name, side)
	for i, p := range ports {
		if i > 0 {
			s += ","
		}
		s += fmt.Sprint(p)
	}
	return s
}
