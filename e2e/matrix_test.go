package e2e

import (
	"context"
	"fmt"
	"os"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/soak-dev/soak/checks"
	"github.com/soak-dev/soak/internal/testbin"
	"github.com/soak-dev/soak/record"
	"github.com/soak-dev/soak/reports"
	"github.com/soak-dev/soak/runner"
	"github.com/soak-dev/soak/scenarios"
)

// The proof on real leaks: the reference SUT (soak testsut) run by the
// runner, once healthy and once per named leak, judged by the default
// checks. The healthy build must pass every default check; each leak must
// fail the check meant for it. Every row runs in the default go test
// (about 20 s each; the healthy row alone, then the leak rows in parallel up to -parallel); SOAK_LONG=1 adds the
// false-alarm loop (long_test.go).

// matrixScenario is the reference SUT with 1 s idle timeouts on every
// layer: an idle hold longer than the timeout plus tolerance, seven short
// load runs (the like-with-like points of no_growth) and a quiet window.
// The target's own server timeout is long so that the proxy, not the
// target, is the one to reclaim intra connections (as in testsut's tests).
func matrixScenario(proxyLeak, targetLeak string) string {
	return matrixText("500ms", nil, proxyLeak, targetLeak)
}

// matrixText is the matrix scenario at interval: nodes started by soak
// when nodes is nil, else the given texts of nodes proxy and target and of
// the fake S3's listen field (TestRemoteMatchesLocal's remote nodes).
func matrixText(interval string, nodes map[string]string, proxyLeak, targetLeak string) string {
	target := fmt.Sprintf(`command: ["{{.Soak}}", "testsut", "--role", "target", "--listen", "{{.Nodes.target.Addr}}",
              "--backend", "{{.Backends.s3.URL}}", "--bucket", "soak",
              "--idle-timeout", "30s", "--backend-idle-conn-timeout", "1s", "--leak", %q]
    ready: "http://{{.Nodes.target.Addr}}/health"
    goroutines: "http://{{.Nodes.target.Addr}}/debug/pprof/goroutine?debug=1"`, targetLeak)
	proxy := fmt.Sprintf(`command: ["{{.Soak}}", "testsut", "--role", "proxy", "--listen", "{{.Nodes.proxy.Addr}}",
              "--targets", "{{.Nodes.target.URL}}", "--idle-timeout", "1s", "--intra-idle-conn-timeout", "1s",
              "--leak", %q]
    ready: "http://{{.Nodes.proxy.Addr}}/health"
    goroutines: "http://{{.Nodes.proxy.Addr}}/debug/pprof/goroutine?debug=1"`, proxyLeak)
	listen := ""
	if nodes != nil {
		target, proxy, listen = nodes["target"], nodes["proxy"], "\n    "+nodes["s3"]
	}
	return fmt.Sprintf(`name: matrix
interval: %s
target: "{{.Nodes.proxy.URL}}"
backends:
  s3:
    kind: s3%s
    buckets: [soak]
    objects: {synthetic: [{prefix: "syn/", size: 1KiB}]}
nodes:
  target:
    %s
    engine: net/http
  proxy:
    %s
    engine: net/http
layers:
  client:  {node: proxy,  listen: proxy, idle_timeout: 1s}
  intra:   {node: proxy,  peer: target,  idle_timeout: 1s}
  backend: {node: target, peer: s3,      idle_timeout: 1s}
phases:
  - name: hold
    idle: {connections: 10, duration: 4s, target: "GET /health"}
  - name: load
    repeat: 7
    steady: {rate: 40/s, duration: 1500ms, connections: 8, targets: ["GET /v1/objects/soak/syn/k-{{rand 50}}"]}
  - name: rest
    quiet: {duration: 4s}
`, interval, listen, target, proxy)
}

// matrixCase is one row of the matrix: a leak and the check meant to catch it.
type matrixCase struct {
	leak, node string // node: where the leak is switched on
	check      string // the check that must fail; "" for the healthy build
	// grew is the function the failing check must name first among the
	// goroutine stacks that grew ("" : not a goroutine leak).
	grew string
}

var matrix = []matrixCase{
	{leak: ""},
	{leak: "server-no-idle-timeout", node: "proxy", check: "reclaim/client"},
	{leak: "intra-no-idle-timeout", node: "proxy", check: "reclaim/intra"},
	{leak: "backend-body-not-closed", node: "target", check: "reclaim/backend"},
	{leak: "backend-transport-per-request", node: "target", check: "reclaim/backend"},
	{leak: "goroutine-per-request", node: "target", check: "no_growth/goroutines/target", grew: "testsut.(*node).object"},
	{leak: "close-wait", node: "proxy", check: "close_wait/client"},
}

// runMatrix runs the scenario with the leak switched on and returns the verdict.
func runMatrix(t *testing.T, c matrixCase) runner.Result {
	t.Helper()
	bin := testbin.Path(t)
	pl, tl := "", ""
	if c.node == "proxy" {
		pl = c.leak
	} else {
		tl = c.leak
	}
	text := matrixScenario(pl, tl)
	sc, err := scenarios.ParseScenario("matrix.yaml", []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	start := time.Now()
	out := os.Getenv("SOAK_KEEP_RUNS") // keep the run directories there to look into
	if out == "" {
		out = t.TempDir()
	}
	// The verdict is what the matrix judges; the report's plots would
	// double each row's CPU (e2e/cli's tests, through soak run, build reports).
	skip := make(chan struct{})
	close(skip)
	res, err := runner.Run(ctx, runner.Options{Scenario: sc, ScenarioYAML: []byte(text), ScenarioPath: "matrix.yaml",
		OutDir: out, Name: "matrix", SoakBinary: bin, ProgressMode: "quiet", SkipReport: skip})
	if err != nil {
		t.Fatalf("run: %v (%s)", err, res.Cause)
	}
	t.Logf("%s: exit %d, verdict %s in %s (%s)", leakName(c.leak), res.ExitCode, res.Verdict.Status, time.Since(start).Round(time.Second), res.Dir)
	return res
}

func leakName(l string) string {
	if l == "" {
		return "healthy"
	}
	return l
}

func TestMatrix(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the reference SUT")
	}
	var (
		mu    sync.Mutex
		table []string
	)
	// The rows run in parallel: the log waits for all of them.
	t.Cleanup(func() {
		sort.Strings(table)
		t.Logf("matrix (leak x checks not passing):\n%s", strings.Join(table, "\n"))
	})
	for _, c := range matrix {
		t.Run(leakName(c.leak), func(t *testing.T) {
			// The healthy row must pass every check, timing-sensitive ones
			// included (reclaim's 100 ms tolerance with kernel events): it
			// runs alone, before the leak rows start (a parallel subtest
			// waits for the loop to end). A leak row only has to fail its
			// own check, which sharing the 2 cores cannot hide: those run
			// in parallel.
			if c.check != "" {
				t.Parallel()
			}
			res := runMatrix(t, c)
			byName := map[string]record.CheckResult{}
			var failed []string
			for _, ck := range res.Verdict.Checks {
				byName[ck.Name] = ck
				if ck.Status != record.StatusPass {
					failed = append(failed, ck.Name+"="+ck.Status)
				}
			}
			sort.Strings(failed)
			mu.Lock()
			table = append(table, fmt.Sprintf("%-30s exit %d, not passing: %s", leakName(c.leak), res.ExitCode, strings.Join(failed, " ")))
			mu.Unlock()
			if c.check == "" {
				if res.Verdict.Status != record.StatusPass || res.ExitCode != runner.ExitPass {
					t.Errorf("healthy build: verdict %s exit %d, want pass 0:\n%s", res.Verdict.Status, res.ExitCode, reports.VerdictMarkdown(res.Verdict))
				}
				healthyRatio(t, res.Dir)
				return
			}
			ck, ok := byName[c.check]
			if !ok || ck.Status != record.StatusFail || res.ExitCode != runner.ExitCheckFailed {
				t.Errorf("%s: check %s is %q (exit %d), want fail 1:\n%s", c.leak, c.check, ck.Status, res.ExitCode, reports.VerdictMarkdown(res.Verdict))
				return
			}
			t.Logf("caught: %s (witnesses %v; %v)", ck.Message, ck.Witnesses, ck.Details)
			if c.grew != "" && (len(ck.Grew) == 0 || !strings.Contains(ck.Grew[0].Func, c.grew) || !strings.Contains(ck.Message, c.grew)) {
				t.Errorf("%s: %s does not name %s first among the stacks that grew: %+v; %s", c.leak, c.check, c.grew, ck.Grew, ck.Message)
			}
		})
	}
}

// healthyRatio judges the healthy run again for the goroutines per
// connection of the proxy's net/http server: one (*conn).serve each.
func healthyRatio(t *testing.T, dir string) {
	t.Helper()
	run, err := record.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	sc := &scenarios.Scenario{Name: "ratio", Expect: []*scenarios.Expectation{{Ratio: &scenarios.RatioCheck{
		Numerator: "goroutines.server-conn", Denominator: "sockets.client", Node: "proxy", Max: 1.5, MinDenominator: 5}}}}
	v, err := checks.Evaluate(run, sc, checks.Options{})
	if err != nil {
		t.Fatal(err)
	}
	c := v.Checks[0]
	t.Logf("ratio: %s %s %v", c.Status, c.Message, c.Details)
	if c.Status != record.StatusPass || c.Value < 0.5 {
		t.Errorf("net/http server goroutines per client connection: %s %.2f, want pass near 1: %s", c.Status, c.Value, c.Message)
	}
}
