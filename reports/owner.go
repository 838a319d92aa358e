package reports

import (
	"maps"
	"slices"

	"github.com/soak-dev/soak/record"
)

// ownerNodes returns the nodes a layer is counted and drawn from: the node
// the scenario names for it (its owning side), else every node that saw it.
// Layer rules are applied on every node, so an intra layer (proxy ->
// target) is also seen from the target's end: counting or drawing both
// ends would show each connection twice.
func ownerNodes(m record.Meta, tl *timeline, layer string) []string {
	if lm, ok := m.Layers[layer]; ok && lm.Node != "" {
		if ns := tl.nodes[lm.Node]; ns != nil && ns.layers[layer] {
			return []string{lm.Node}
		}
	}
	var out []string
	for _, node := range tl.nodeNames() {
		ns := tl.nodes[node]
		s := ns.get(keyEst(layer))
		if s != nil && s.peak > 0 || len(tl.nodes) == 1 && s != nil {
			out = append(out, node)
		}
	}
	return out
}

// layerNames returns every layer seen on any node, sorted.
func (tl *timeline) layerNames() []string {
	set := map[string]bool{}
	for _, ns := range tl.nodes {
		for l := range ns.layers {
			set[l] = true
		}
	}
	return slices.Sorted(maps.Keys(set))
}
