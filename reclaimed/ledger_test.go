package reclaimed

import (
	"testing"

	"github.com/soak-dev/soak/record"
)

func TestLedgerLayers(t *testing.T) {
	t.Parallel()
	quick := record.Meta{
		Layers: map[string]record.LayerMeta{
			"client":  {Node: "proxy", Listen: "proxy"},
			"intra":   {Node: "proxy", Peer: "target"},
			"backend": {Node: "target", Peer: "s3"},
		},
		Backends: map[string]record.BackendMeta{"s3": {Kind: "s3"}},
	}
	// No layer named "client": the only listen-only layer takes the load's ledger.
	front := record.Meta{Layers: map[string]record.LayerMeta{"front": {Node: "gw", Listen: "gw"}, "cloud": {Node: "gw", Peer: "gcs"}},
		Backends: map[string]record.BackendMeta{"gcs": {Kind: "gcs"}}}
	for _, tc := range []struct {
		name string
		m    record.Meta
		c    record.Conn
		want string
	}{
		{"backend ledger", quick, record.Conn{Witness: record.WitnessBackend, Source: "s3"}, "backend"},
		{"client ledger", quick, record.Conn{Witness: record.WitnessClient, Source: "warm#2"}, "client"},
		{"own layer kept", quick, record.Conn{Witness: record.WitnessClient, Layer: "intra"}, "intra"},
		{"unknown backend", quick, record.Conn{Witness: record.WitnessBackend, Source: "azure"}, ""},
		{"kernel without layer", quick, record.Conn{Witness: record.WitnessKernel, Source: "proxy"}, ""},
		{"listen-only layer", front, record.Conn{Witness: record.WitnessClient, Source: "warm"}, "front"},
		{"peer of a backend", front, record.Conn{Witness: record.WitnessBackend, Source: "gcs"}, "cloud"},
		{"no rules", record.Meta{}, record.Conn{Witness: record.WitnessClient}, ""},
	} {
		if got := NewLedgerLayers(tc.m).Of(tc.c); got != tc.want {
			t.Errorf("%s: layer = %q, want %q", tc.name, got, tc.want)
		}
	}
}
