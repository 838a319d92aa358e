package e2e

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/soak-dev/soak/record"
)

// ownEndsScenario: the load goes straight to the target, never through
// the proxy, whose layer intra names the target's port. soak's load client
// closes its connections first (at each phase's end), so their TIME_WAIT
// ends are soak's, local its ephemeral port and remote the target's: a
// rule remote:target matches them. The proxy itself dials the target
// never, so none of its intra sockets is its own.
const ownEndsScenario = `name: ownends
interval: 500ms
target: "{{.Nodes.target.URL}}"
backends:
  s3:
    kind: s3
    buckets: [soak]
    objects: {synthetic: [{prefix: "syn/", size: 1KiB}]}
nodes:
  target:
    command: ["{{.Soak}}", "testsut", "--role", "target", "--listen", "{{.Nodes.target.Addr}}",
              "--backend", "{{.Backends.s3.URL}}", "--bucket", "soak", "--idle-timeout", "30s"]
    ready: "http://{{.Nodes.target.Addr}}/health"
    goroutines: "http://{{.Nodes.target.Addr}}/debug/pprof/goroutine?debug=1"
  proxy:
    command: ["{{.Soak}}", "testsut", "--role", "proxy", "--listen", "{{.Nodes.proxy.Addr}}",
              "--targets", "{{.Nodes.target.URL}}", "--idle-timeout", "30s"]
    ready: "http://{{.Nodes.proxy.Addr}}/health"
    goroutines: "http://{{.Nodes.proxy.Addr}}/debug/pprof/goroutine?debug=1"
layers:
  client: {node: proxy, listen: proxy, idle_timeout: 30s}
  intra:  {node: proxy, peer: target,  idle_timeout: 30s}
phases:
  - name: direct
    steady: {rate: 40/s, duration: 2s, connections: 8, targets: ["GET /v1/objects/soak/syn/k-{{rand 50}}"]}
  - name: hold
    idle: {connections: 10, duration: 1500ms, target: "GET /health"}
  - name: rest
    quiet: {duration: 3s}
`

// TestOwnEndsWithoutBPF: without the kernel event witness (soak under
// setpriv without CAP_BPF, CAP_PERFMON, CAP_SYS_ADMIN, as
// TestFallbackWithoutBPF), soak's own closed connections to the target
// are not the proxy's: no sample counts a TIME_WAIT in the proxy's layer
// intra and no polling line of the proxy has the 4-tuple of one of soak's
// load connections. Before soak told its own dialled ends apart, both had
// 10 or more (the hold's 10 closed ends).
func TestOwnEndsWithoutBPF(t *testing.T) {
	t.Parallel()
	soak := withoutBPF(t)
	dir := t.TempDir()
	sc := filepath.Join(dir, "ownends.yaml")
	if err := os.WriteFile(sc, []byte(ownEndsScenario), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := soak("run", sc, "--out", dir, "--quiet")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	runs, _ := filepath.Glob(filepath.Join(dir, "*_ownends"))
	if len(runs) != 1 {
		t.Fatalf("%v, %d run directories:\n%s", err, len(runs), out.String())
	}
	run, err := record.Open(runs[0])
	if err != nil {
		t.Fatal(err)
	}
	if got := run.Meta.ProbeMethods["events/proxy"]; got != "polling" {
		t.Fatalf("events/proxy = %q, want polling (the witness was to be off):\n%s", got, out.String())
	}
	conns, err := run.Conns()
	if err != nil {
		t.Fatal(err)
	}
	soaks := map[[2]string]bool{}
	closedFirst := 0
	for _, c := range conns {
		if c.Witness == record.WitnessClient {
			soaks[[2]string{c.Local, c.Remote}] = true
			if c.ClosedBy == record.ClosedByClient {
				closedFirst++
			}
		}
	}
	// The trap: soak's own ends in TIME_WAIT (it closed first), to the
	// port the proxy's intra rule names.
	if closedFirst < 10 {
		t.Fatalf("soak closed %d of its connections first, want at least the hold's 10", closedFirst)
	}
	counted := 0
	for _, c := range conns {
		if c.Witness == record.WitnessKernel && c.Source == "proxy" && soaks[[2]string{c.Local, c.Remote}] {
			counted++
		}
	}
	samples, err := run.Samples()
	if err != nil {
		t.Fatal(err)
	}
	proxySamples, tw := 0, 0
	for _, s := range samples {
		if s.Node != "proxy" || s.Sockets == nil {
			continue
		}
		proxySamples++
		if l := s.Sockets.Layers["intra"]; l != nil {
			tw = max(tw, l.ByState["TIME_WAIT"])
		}
	}
	t.Logf("%d of soak's connections (%d closed by soak first), %d proxy samples", len(soaks), closedFirst, proxySamples)
	if counted > 0 || tw > 0 {
		t.Errorf("the proxy counted soak's own ends: %d polling lines with their 4-tuples, up to %d TIME_WAIT in layer intra; want 0 and 0", counted, tw)
	}
}
