package probes

import (
	"testing"

	"github.com/soak-dev/soak/record"
)

// FuzzParseLayerRule: no --layer text panics, and a parsed rule has a name,
// at least one port, every port in 1..65535, and matches its own ports.
func FuzzParseLayerRule(f *testing.F) {
	for _, s := range []string{"proxy=local:8080", "up=remote:9000,9001", "both=local:8080;remote:9000",
		"=local:1", "x=", "x=local:", "x=local:0", "x=local:65536", "x=side:1", "other=local:1",
		"x=local:1;;remote:2", "x=local: 1 , 2 ", "x=remote:-1", "x=local:1e3"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseLayerRule(s)
		if err != nil {
			return
		}
		if r.Name == "" || r.Name == record.LayerOther {
			t.Fatalf("rule %q parsed to bad name %q", s, r.Name)
		}
		if len(r.LocalPorts)+len(r.RemotePorts) == 0 {
			t.Fatalf("rule %q has no ports", s)
		}
		ls := newLayerSet([]LayerRule{r})
		for _, p := range r.LocalPorts {
			if p <= 0 || p > 65535 {
				t.Fatalf("rule %q: local port %d", s, p)
			}
			if got := ls.match(p, 0); got != r.Name {
				t.Fatalf("rule %q: local port %d matched %q", s, p, got)
			}
		}
		for _, p := range r.RemotePorts {
			if p <= 0 || p > 65535 {
				t.Fatalf("rule %q: remote port %d", s, p)
			}
			if got := ls.match(0, p); got != r.Name {
				t.Fatalf("rule %q: remote port %d matched %q", s, p, got)
			}
		}
	})
}
