package scenarios

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// largeScenario writes a scenario far bigger than any real one: nodes
// nodes (a chain, each with env, files and three ports), a layer per node,
// phases phases cycling through every kind, and checks on each layer.
func largeScenario(nodes, phases int) []byte {
	var b strings.Builder
	b.WriteString("name: large\ninterval: 1s\ntarget: \"{{.Nodes.n0.URL}}\"\n")
	b.WriteString("backends:\n  s3: {kind: s3, buckets: [soak], faults: {latency: 5ms, error_rate: 0.01}}\n  gcs: {kind: gcs}\n")
	b.WriteString("nodes:\n")
	for i := 0; i < nodes; i++ {
		next := fmt.Sprintf("{{.Nodes.n%d.URL}}", (i+1)%nodes)
		fmt.Fprintf(&b, "  n%d:\n    command: [\"{{.Soak}}\", testsut, --listen, \"{{.Nodes.n%d.Addr}}\", --peer, %q, --admin, \"{{.Nodes.n%d.Addrs.admin}}\"]\n", i, i, next, i)
		fmt.Fprintf(&b, "    env: {S3: \"{{.Backends.s3.URL}}\", KEY: \"{{.Backends.s3.AccessKey}}\", RUN: \"{{.Run.Dir}}\"}\n")
		fmt.Fprintf(&b, "    files: {\"conf/n%d.conf\": \"listen {{.Nodes.n%d.Addr}};\\nupstream {{.Nodes.n%d.Ports.intra}};\\n\"}\n", i, i, i)
		fmt.Fprintf(&b, "    ports: [http, intra, admin]\n    ready: \"http://{{.Nodes.n%d.Addr}}/health\"\n    goroutines: \"http://{{.Nodes.n%d.Addrs.admin}}/debug/pprof/goroutine?debug=1\"\n    engine: net/http\n", i, i)
	}
	b.WriteString("layers:\n")
	for i := 0; i < nodes; i++ {
		fmt.Fprintf(&b, "  l%d: {node: n%d, listen: n%d, peer: n%d, ports: [http, intra], idle_timeout: %ds}\n", i, i, i, (i+1)%nodes, 2+i%5)
	}
	b.WriteString("phases:\n")
	kinds := []string{
		"steady: {rate: 100/s, duration: 30s, connections: 32, body: 4KiB, targets: [\"GET /o/{{rand 1000}}\", \"PUT /o/{{seq}}\"], headers: {X-Soak: \"1\"}}",
		"ramp: {from: 10/s, to: 500/s, duration: 1m, steps: 5}",
		"burst: {count: 1000, bursts: 3, pause: 5s}",
		"idle: {connections: 500, duration: 20s, target: \"GET /health\", probe_reuse: true}",
		"churn: {rate: 50/s, duration: 10s, targets: [\"GET /o/{{rand 10}}\"]}",
		"slow: {connections: 10, duration: 10s, mode: body, rate: 10}",
		"abandon: {connections: 10, duration: 10s, send: partial-body}",
		"quiet: {duration: 15s}",
	}
	for i := 0; i < phases; i++ {
		fmt.Fprintf(&b, "  - name: p%d\n    %s\n", i, kinds[i%len(kinds)])
		if i%10 == 0 {
			b.WriteString("    faults: {s3: {reset_rate: 0.01, latency: 10ms}}\n")
		}
	}
	b.WriteString("expect:\n")
	for i := 0; i < nodes; i++ {
		fmt.Fprintf(&b, "  - reclaim: {layer: l%d}\n  - drain: {layer: l%d, after: p%d}\n  - no_growth: {series: sockets.l%d.idle, during: [p0, p8, p16]}\n", i, i, phases-1, i)
	}
	b.WriteString("  - ratio: {numerator: goroutines, denominator: sockets.l0, max: 3}\n  - close_wait: {max_age: 10s}\n")
	return []byte(b.String())
}

// TestLargeScenario parses a 20-node, 200-phase scenario. It checks the
// result, not the time: run BenchmarkParseLarge for the figure.
func TestLargeScenario(t *testing.T) {
	data := largeScenario(20, 200)
	start := time.Now()
	sc := mustParse(t, "large.yaml", data)
	t.Logf("parsed %d bytes (%d nodes, %d phases, %d checks) in %v", len(data), len(sc.Nodes), len(sc.Phases), len(sc.Expect), time.Since(start))
	if len(sc.Nodes) != 20 || len(sc.Phases) != 200 || len(sc.Layers) != 20 || len(sc.Expect) != 62 {
		t.Errorf("got %d nodes, %d phases, %d layers, %d checks", len(sc.Nodes), len(sc.Phases), len(sc.Layers), len(sc.Expect))
	}
	for i, k := range []string{"steady", "ramp", "burst", "idle", "churn", "slow", "abandon", "quiet"} {
		if got := sc.Phases[i].Kind(); got != k {
			t.Errorf("phases[%d] is %s, want %s", i, got, k)
		}
	}
	// One error deep in the big file is found with its exact position.
	bad := strings.Replace(string(data), "  - name: p146\n    burst: {count: 1000,", "  - name: p146\n    burst: {count: -1000,", 1)
	_, err := ParseScenario("large.yaml", []byte(bad))
	if err == nil || !strings.Contains(err.Error(), "phases[146].burst.count: -1000 is negative") {
		t.Errorf("error deep in a large file: %v", err)
	}
}

// BenchmarkParseLarge reports the parse time of the largest scenario we
// expect (20 nodes, 200 phases); go test -bench ParseLarge -run XXX ./scenarios/.
func BenchmarkParseLarge(b *testing.B) {
	data := largeScenario(20, 200)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseScenario("large.yaml", data); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkParseQuick is the everyday case.
func BenchmarkParseQuick(b *testing.B) {
	data, _ := Builtin("quick")
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseScenario("quick.yaml", data); err != nil {
			b.Fatal(err)
		}
	}
}
