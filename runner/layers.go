package runner

import (
	"sort"

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
