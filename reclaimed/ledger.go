package reclaimed

import "github.com/soak-dev/soak/record"

// LedgerLayers names the layer of a ledger connection (client or backend
// witness), which conns.jsonl records without one: the load client and
// the fake backend write their ledger before any layer rule is applied,
// and runs recorded so far have none. The layer is derived here, at read
// time, from the layer rules in meta.json, so checks and reports agree on
// it and every old run directory gets it too.
type LedgerLayers struct {
	// client is the layer the load clients connect to ("" if unknown).
	client string
	// backend maps a backend name to the layer whose peer it is.
	backend map[string]string
}

// NewLedgerLayers reads the layer rules of a run: a layer whose peer is a
// backend owns that backend's ledger; the load client's ledger belongs to
// the layer named "client", else to the only layer that has a listen rule
// and no peer.
func NewLedgerLayers(m record.Meta) LedgerLayers {
	ll := LedgerLayers{backend: map[string]string{}}
	var listenOnly []string
	for name, l := range m.Layers {
		if _, ok := m.Backends[l.Peer]; ok && l.Peer != "" {
			ll.backend[l.Peer] = name
		}
		if l.Listen != "" && l.Peer == "" {
			listenOnly = append(listenOnly, name)
		}
	}
	switch {
	case m.Layers["client"].Node != "":
		ll.client = "client"
	case len(listenOnly) == 1:
		ll.client = listenOnly[0]
	}
	return ll
}

// Of returns c's layer: its own when it has one, else the one its witness
// implies (see NewLedgerLayers), else "".
func (ll LedgerLayers) Of(c record.Conn) string {
	if c.Layer != "" {
		return c.Layer
	}
	switch c.Witness {
	case record.WitnessClient:
		return ll.client
	case record.WitnessBackend:
		return ll.backend[c.Source]
	}
	return ""
}
