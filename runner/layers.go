package runner

import (
	"fmt"
	"net"
	"sort"
	"strings"

	"github.com/soak-dev/soak/probes"
	"github.com/soak-dev/soak/record"
	"github.com/soak-dev/soak/scenarios"
)

// layerPorts resolves a layer's classification rule: the ports of its
// Listen node (local side) and of its Peer node or backend (remote side).
func layerPorts(l *scenarios.Layer, data *scenarios.TemplateData) (local, remote []int) {
	pick := func(ports map[string]int) []int {
		var out []int
		if len(l.Ports) == 0 {
			for _, p := range ports {
				out = append(out, p)
			}
		} else {
			for _, name := range l.Ports {
				if p, ok := ports[name]; ok {
					out = append(out, p)
				}
			}
		}
		sort.Ints(out)
		return out
	}
	if n, ok := data.Nodes[l.Listen]; ok {
		local = pick(n.Ports)
	}
	if n, ok := data.Nodes[l.Peer]; ok {
		remote = pick(n.Ports)
	} else if b, ok := data.Backends[l.Peer]; ok {
		remote = []int{b.Port}
	}
	return local, remote
}

// layerRules returns the rules that classify node's sockets, and the
// layers' descriptions for meta.json.
func layerRules(sc *scenarios.Scenario, data *scenarios.TemplateData) (map[string][]probes.LayerRule, map[string]record.LayerMeta) {
	rules := map[string][]probes.LayerRule{}
	metas := map[string]record.LayerMeta{}
	var derived []func()
	for _, name := range sc.LayerNames() {
		l := sc.Layers[name]
		local, remote := layerPorts(l, data)
		rules[l.Node] = append(rules[l.Node], probes.LayerRule{Name: name, LocalPorts: local, RemotePorts: remote})
		metas[name] = record.LayerMeta{Node: l.Node, Listen: l.Listen, Peer: l.Peer,
			IdleTimeoutMs: l.IdleTimeout.D().Milliseconds(), LocalPorts: local, RemotePorts: remote}
		// A peer that is a node sees the other end of the same connections
		// (the server side of an intra-cluster layer): classify its sockets
		// on those ports into the layer too, after its own explicit rules.
		if _, ok := sc.Nodes[l.Peer]; ok && l.Peer != l.Node {
			peer, ports := l.Peer, remote
			derived = append(derived, func() {
				rules[peer] = append(rules[peer], probes.LayerRule{Name: name, LocalPorts: ports})
			})
		}
	}
	for _, add := range derived {
		add()
	}
	return rules, metas
}

// NodeLayerRules are the layer rules of node in sc as a run would give
// them, for a prober that is not the run (`soak probe --listen --scenario
// F --node N` on the node's host): the ports come from what the scenario
// fixes, the url of remote and attached nodes and the listen address of
// backends. A layer of the node that names a node or backend without a
// fixed port is an error naming it, never a rule that matches nothing.
func NodeLayerRules(sc *scenarios.Scenario, node string) ([]probes.LayerRule, error) {
	if sc.Nodes[node] == nil {
		return nil, fmt.Errorf("node %q is not in scenario %s (nodes: %s)", node, sc.Name, strings.Join(sc.NodeNames(), ", "))
	}
	data := scenarios.TemplateData{Nodes: map[string]scenarios.NodeAddr{}, Backends: map[string]scenarios.BackendAddr{}}
	for _, name := range sc.NodeNames() {
		if n := sc.Nodes[name]; n.Attach != nil || n.Remote != nil {
			a, err := attachedAddr(name, n)
			if err != nil {
				return nil, err
			}
			data.Nodes[name] = a
		}
	}
	for _, name := range sc.BackendNames() {
		b := sc.Backends[name]
		if _, port, err := net.SplitHostPort(b.Listen); err == nil && port != "0" {
			data.Backends[name] = backendAddr(name, b, "http://"+b.Listen, "", "", "")
		}
	}
	fixed := func(layer, field, name string) error {
		if name == "" {
			return nil
		}
		if _, ok := data.Nodes[name]; ok {
			return nil
		}
		if _, ok := data.Backends[name]; ok {
			return nil
		}
		if sc.Backends[name] != nil {
			return fmt.Errorf("layer %s: %s %s: backend %s has no fixed port (give it listen: HOST:PORT)", layer, field, name, name)
		}
		return fmt.Errorf("layer %s: %s %s: node %s has no fixed address (soak allocates its ports when it starts it; give it remote.url or attach.url)", layer, field, name, name)
	}
	for _, name := range sc.LayerNames() {
		l := sc.Layers[name]
		if l.Node != node && l.Peer != node {
			continue
		}
		if err := fixed(name, "listen", l.Listen); err != nil {
			return nil, err
		}
		if err := fixed(name, "peer", l.Peer); err != nil {
			return nil, err
		}
	}
	rules, _ := layerRules(sc, &data)
	return rules[node], nil
}
