package runner

import (
	"net"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/soak-dev/soak/probes"
	"github.com/soak-dev/soak/scenarios"
)

func TestLayerRulesFromScenario(t *testing.T) {
	sc, err := scenarios.ParseScenario("t.yaml", []byte(`
name: t
backends: {s3: {kind: s3}}
nodes:
  proxy: {command: [x], ports: [http, admin]}
  target: {command: [x]}
layers:
  client:  {node: proxy,  listen: proxy, ports: [http], idle_timeout: 4s}
  intra:   {node: proxy,  peer: target, idle_timeout: 3s}
  backend: {node: target, peer: s3, idle_timeout: 2s}
phases: [{name: q, quiet: {duration: 1s}}]
`))
	if err != nil {
		t.Fatal(err)
	}
	data := scenarios.TemplateData{
		Nodes: map[string]scenarios.NodeAddr{
			"proxy":  nodeAddr("proxy", sc.Nodes["proxy"], map[string]int{"http": 8000, "admin": 8001}),
			"target": nodeAddr("target", sc.Nodes["target"], map[string]int{"http": 9000}),
		},
		Backends: map[string]scenarios.BackendAddr{"s3": backendAddr("s3", sc.Backends["s3"], "http://127.0.0.1:7000", "a", "s", "r")},
	}
	rules, metas := layerRules(sc, &data)
	if got, want := len(rules["proxy"]), 2; got != want {
		t.Fatalf("proxy rules = %d, want %d", got, want)
	}
	for _, r := range rules["proxy"] {
		switch r.Name {
		case "client":
			if !reflect.DeepEqual(r.LocalPorts, []int{8000}) || len(r.RemotePorts) != 0 {
				t.Errorf("client rule = %+v, want local [8000] (ports: [http] leaves admin out)", r)
			}
		case "intra":
			if !reflect.DeepEqual(r.RemotePorts, []int{9000}) || len(r.LocalPorts) != 0 {
				t.Errorf("intra rule = %+v, want remote [9000]", r)
			}
		}
	}
	if r := rules["target"]; len(r) != 2 || !reflect.DeepEqual(r[0].RemotePorts, []int{7000}) ||
		r[1].Name != "intra" || !reflect.DeepEqual(r[1].LocalPorts, []int{9000}) {
		t.Errorf("target rules = %+v, want backend remote [7000], then intra (server side) local [9000]", r)
	}
	if got := metas["backend"].IdleTimeoutMs; got != 2000 {
		t.Errorf("backend idle timeout = %d ms, want 2000", got)
	}
	if got, want := data.Nodes["proxy"].URL, "http://127.0.0.1:8000"; got != want {
		t.Errorf("proxy URL = %q, want %q", got, want)
	}
}

func TestAllocatePortsAreFreeAndDistinct(t *testing.T) {
	ports, err := allocatePorts("127.0.0.1", []string{"a", "b", "c"})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[int]bool{}
	for name, p := range ports {
		if p <= 0 || seen[p] {
			t.Errorf("port %s = %d: zero or duplicate", name, p)
		}
		seen[p] = true
		l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p))
		if err != nil {
			t.Errorf("port %s = %d is not free after allocation: %v", name, p, err)
			continue
		}
		l.Close()
	}
}

// TestNodeLayerRules: the rules soak probe --listen --scenario F --node N
// gives a remote node are the ones a run gives it; a layer naming a node
// or backend whose port the scenario does not fix is an error naming it.
func TestNodeLayerRules(t *testing.T) {
	const base = `
name: t
backends: {s3: {kind: s3, listen: "10.0.0.1:9000"}, gcs: {kind: s3}}
nodes:
  proxy:  {remote: {exporter: "http://10.0.0.2:9469/metrics", url: "http://10.0.0.2:8080"}}
  target: {remote: {prometheus: "http://p:9090", match: '{instance="t"}', url: "http://10.0.0.3:8081"}}
  local:  {command: [x]}
layers:
  client:  {node: proxy,  listen: proxy, idle_timeout: 4s}
  intra:   {node: proxy,  peer: target, idle_timeout: 3s}
  backend: {node: target, peer: s3, idle_timeout: 2s}
`
	for _, tc := range []struct {
		node, extra, want string
		rules             []probes.LayerRule
	}{
		{node: "proxy", rules: []probes.LayerRule{{Name: "client", LocalPorts: []int{8080}}, {Name: "intra", RemotePorts: []int{8081}}}},
		{node: "target", rules: []probes.LayerRule{{Name: "backend", RemotePorts: []int{9000}}, {Name: "intra", LocalPorts: []int{8081}}}},
		{node: "nope", want: `node "nope" is not in scenario t`},
		{node: "proxy", extra: "  admin: {node: proxy, peer: local, idle_timeout: 1s}\n", want: "layer admin: peer local: node local has no fixed address"},
		{node: "target", extra: "  cloud: {node: target, peer: gcs, idle_timeout: 1s}\n", want: "layer cloud: peer gcs: backend gcs has no fixed port"},
	} {
		sc, err := scenarios.ParseScenario("t.yaml", []byte(base+tc.extra+"phases: [{name: q, quiet: {duration: 1s}}]\n"))
		if err != nil {
			t.Fatal(err)
		}
		rules, err := NodeLayerRules(sc, tc.node)
		if tc.want != "" {
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("%s %q: error %v, want %q", tc.node, tc.extra, err, tc.want)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(rules, tc.rules) {
			t.Errorf("%s: rules %+v (%v), want %+v", tc.node, rules, err, tc.rules)
		}
	}
}
