package checks

import (
	"fmt"
	"slices"
	"strings"

	"github.com/soak-dev/soak/record"
	"github.com/soak-dev/soak/series"
)

// No silent pass: a check passes only on evidence seen. A layer no witness
// ever saw a connection of, a series the run never produced and a phase that
// never ran all read as zero, and zero passes most limits; these helpers say
// why such a check is inconclusive instead.

// layerUnseen says why no witness saw a connection of layer during the run
// (the kernel on the layer's node, the fake backend's or the load clients'
// ledger), or "" when one did.
func (d *runData) layerUnseen(layer string) string {
	node := d.layerNode(layer)
	dumps := 0
	for _, s := range d.samples[node] {
		if s.Sockets == nil {
			continue
		}
		dumps++
		if layerTotal(s.Sockets.Layer(layer)) > 0 {
			return ""
		}
	}
	if d.ledgerSaw(layer) {
		return ""
	}
	return fmt.Sprintf("%s: no witness saw a connection of the layer (kernel: no socket in %d socket dumps of node %s; no ledger recorded one), so nothing was judged; check the layer rules and that load reaches it",
		layer, dumps, node)
}

// ledgerSaw says whether the fake backend's or the load clients' ledger
// recorded a connection of layer, matched as reclaim matches them.
func (d *runData) ledgerSaw(layer string) bool {
	peer := d.meta.Layers[layer].Peer
	if peer == "" && d.sc != nil && d.sc.Layers[layer] != nil {
		peer = d.sc.Layers[layer].Peer
	}
	_, isBackend := d.meta.Backends[peer]
	client := d.isClientLayer(layer)
	for _, cn := range d.conns {
		switch {
		case cn.Witness == record.WitnessBackend && isBackend && cn.Source == peer:
			return true
		case cn.Witness == record.WitnessClient && client && (cn.Layer == "" || cn.Layer == layer):
			return true
		}
	}
	return false
}

// layerTotal is the number of sockets of the layer in any state (0 for nil).
func layerTotal(l *series.LayerCounts) int32 {
	var n int32
	if l != nil {
		for _, v := range l.States {
			n += v
		}
	}
	return n
}

// unproduced says why series s has no evidence on node: a goroutine class
// never seen, a layer no witness saw. "" when the series was produced.
// (Names soak never records are validate errors: package series.)
func (d *runData) unproduced(s metric, node string) string {
	samples := d.samples[node]
	switch s.Kind {
	case series.Goroutines:
		i := slices.Index(series.Classes[:], s.Class)
		if s.Class == "" || i < 0 {
			return ""
		}
		classes := false
		for _, smp := range samples {
			if g := smp.Goroutines; g != nil && g.HasClasses {
				classes = true
				if g.ByClass[i] > 0 {
					return ""
				}
			}
		}
		if !classes {
			return fmt.Sprintf("the run never produced %s on node %s: its goroutines were never counted by class (no pprof URL)", s.Text, node)
		}
		return fmt.Sprintf("the run never produced %s on node %s: no goroutine of class %s was seen in any sample", s.Text, node, s.Class)
	case series.Sockets:
		switch s.Layer {
		case series.Other:
			return ""
		case series.AllLayers:
			for _, l := range d.layers() {
				if d.layerUnseen(l) == "" {
					return ""
				}
			}
			return fmt.Sprintf("the run never produced %s: no witness saw a connection of any layer; check the layer rules and that load reaches them", s.Text)
		}
		return d.layerUnseen(s.Layer)
	}
	return ""
}

// neverRan names the phases of names that never ran, or "".
func (d *runData) neverRan(names []string) string {
	var missing []string
	for _, n := range names {
		if len(d.runsOf(n)) == 0 {
			missing = append(missing, fmt.Sprintf("%q", n))
		}
	}
	if len(missing) == 0 {
		return ""
	}
	return fmt.Sprintf("phase %s never ran (the run ended early, or the name is wrong)", strings.Join(missing, ", "))
}
