package runner

import (
	"net"
	"reflect"
	"strconv"
	"testing"

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
