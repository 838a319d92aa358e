package probes

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/soak-dev/soak/record"
)

// layerSet classifies sockets by the target's rules; first match wins.
type layerSet struct {
	rules  []LayerRule
	local  map[int]bool // every LocalPorts port of any rule
	remote map[int]bool // every RemotePorts port of any rule
}

func newLayerSet(rules []LayerRule) layerSet {
	ls := layerSet{rules: rules, local: map[int]bool{}, remote: map[int]bool{}}
	for _, r := range rules {
		for _, p := range r.LocalPorts {
			ls.local[p] = true
		}
		for _, p := range r.RemotePorts {
			ls.remote[p] = true
		}
	}
	return ls
}

// match returns the layer of a socket with these ports, or "" when no rule matches.
func (ls layerSet) match(localPort, remotePort int) string {
	for _, r := range ls.rules {
		for _, p := range r.LocalPorts {
			if p == localPort {
				return r.Name
			}
		}
		for _, p := range r.RemotePorts {
			if p == remotePort {
				return r.Name
			}
		}
	}
	return ""
}

// ParseLayerRule parses the command line form of a rule:
// "name=local:8080", "name=remote:9000,9001" or "name=local:8080;remote:9000".
func ParseLayerRule(s string) (LayerRule, error) {
	name, spec, ok := strings.Cut(s, "=")
	name = strings.TrimSpace(name)
	if !ok || name == "" || spec == "" {
		return LayerRule{}, fmt.Errorf("layer %q: want name=local:PORT[,PORT] or name=remote:PORT[,PORT]", s)
	}
	if name == record.LayerOther {
		return LayerRule{}, fmt.Errorf("layer %q: %q is reserved for unmatched sockets", s, record.LayerOther)
	}
	r := LayerRule{Name: name}
	for _, part := range strings.Split(spec, ";") {
		kind, ports, ok := strings.Cut(strings.TrimSpace(part), ":")
		if !ok {
			return LayerRule{}, fmt.Errorf("layer %q: %q lacks a local: or remote: prefix", s, part)
		}
		var dst *[]int
		switch kind {
		case "local":
			dst = &r.LocalPorts
		case "remote":
			dst = &r.RemotePorts
		default:
			return LayerRule{}, fmt.Errorf("layer %q: %q is neither local nor remote", s, kind)
		}
		for _, p := range strings.Split(ports, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(p))
			if err != nil || n <= 0 || n > 65535 {
				return LayerRule{}, fmt.Errorf("layer %q: bad port %q", s, p)
			}
			*dst = append(*dst, n)
		}
	}
	return r, nil
}
