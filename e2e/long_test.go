package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/soak-dev/soak/checks"
	"github.com/soak-dev/soak/internal/testbin"
	"github.com/soak-dev/soak/record"
	"github.com/soak-dev/soak/reports"
	"github.com/soak-dev/soak/runner"
	"github.com/soak-dev/soak/scenarios"
)

// Long measurements, gated by SOAK_LONG=1 (make bench / a ci job).

// TestFalseAlarms runs the healthy build SOAK_RUNS times (default 20) and
// counts verdicts that are not pass: each is a false alarm.
func TestFalseAlarms(t *testing.T) {
	if os.Getenv("SOAK_LONG") == "" {
		t.Skip("set SOAK_LONG=1: 20 runs of the healthy reference SUT (~8 minutes)")
	}
	n := 20
	if v, err := strconv.Atoi(os.Getenv("SOAK_RUNS")); err == nil && v > 0 {
		n = v
	}
	passed := 0
	for i := 0; i < n; i++ {
		res := runMatrix(t, matrixCase{})
		if res.Verdict.Status == record.StatusPass {
			passed++
			continue
		}
		t.Errorf("run %d: healthy build verdict %s:\n%s", i+1, res.Verdict.Status, reports.VerdictMarkdown(res.Verdict))
	}
	t.Logf("false alarms: %d of %d healthy runs passed every default check", passed, n)
}

// detectScenario leaks one backend connection per request at one request
// per minute (backend-transport-per-request), sampled every second.
func detectScenario(minutes int) string {
	return fmt.Sprintf(`name: detect
interval: 1s
target: "{{.Nodes.proxy.URL}}"
backends:
  s3: {kind: s3, buckets: [soak], objects: {synthetic: [{prefix: "syn/", size: 1KiB}]}}
nodes:
  target:
    command: ["{{.Soak}}", "testsut", "--role", "target", "--listen", "{{.Nodes.target.Addr}}",
              "--backend", "{{.Backends.s3.URL}}", "--bucket", "soak", "--idle-timeout", "30s",
              "--backend-idle-conn-timeout", "2s", "--leak", "backend-transport-per-request"]
    ready: "http://{{.Nodes.target.Addr}}/health"
    goroutines: "http://{{.Nodes.target.Addr}}/debug/pprof/goroutine?debug=1"
    engine: net/http
  proxy:
    command: ["{{.Soak}}", "testsut", "--role", "proxy", "--listen", "{{.Nodes.proxy.Addr}}",
              "--targets", "{{.Nodes.target.URL}}", "--idle-timeout", "2s", "--intra-idle-conn-timeout", "2s"]
    ready: "http://{{.Nodes.proxy.Addr}}/health"
    engine: net/http
layers:
  client:  {node: proxy,  listen: proxy, idle_timeout: 2s}
  intra:   {node: proxy,  peer: target,  idle_timeout: 2s}
  backend: {node: target, peer: s3,      idle_timeout: 2s}
phases:
  - name: soak
    steady: {rate: 1/m, duration: %dm, connections: 2, targets: ["GET /v1/objects/soak/syn/k-{{rand 50}}"]}
expect:
  - no_growth: {series: sockets.backend, during: [soak]}
  - no_growth: {series: fds, node: target, during: [soak]}
  - no_growth: {series: goroutines, node: target, during: [soak]}
`, minutes)
}

// TestTimeToDetectReal soaks the reference SUT with a leak of one
// connection per minute, then judges the first m minutes of the run for
// each m, and reports the first m at which no_growth flags each series.
func TestTimeToDetectReal(t *testing.T) {
	if os.Getenv("SOAK_LONG") == "" {
		t.Skip("set SOAK_LONG=1: a 10-minute soak of a 1 conn/min leak")
	}
	const minutes = 10
	bin := testbin.Path(t)
	text := detectScenario(minutes)
	sc, err := scenarios.ParseScenario("detect.yaml", []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), (minutes+3)*time.Minute)
	defer cancel()
	res, err := runner.Run(ctx, runner.Options{Scenario: sc, ScenarioYAML: []byte(text), OutDir: t.TempDir(), Name: "detect", SoakBinary: bin, ProgressMode: "quiet"})
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	run, err := record.Open(res.Dir)
	if err != nil {
		t.Fatal(err)
	}
	samples, err := run.Samples()
	if err != nil {
		t.Fatal(err)
	}
	first := map[string]int{}
	for m := 1; m <= minutes; m++ {
		v := evaluatePrefix(t, run, samples, sc, time.Duration(m)*time.Minute)
		for _, c := range v.Checks {
			if _, done := first[c.Name]; !done && c.Status == record.StatusFail {
				first[c.Name] = m
			}
		}
	}
	for _, c := range res.Verdict.Checks {
		t.Logf("%s: full run %s (%s); first flagged after %d min (0: never)", c.Name, c.Status, c.Message, first[c.Name])
	}
	if first["no_growth/sockets.backend/target"] == 0 {
		t.Errorf("a leak of 1 conn/min was not flagged within %d minutes", minutes)
	}
}

// evaluatePrefix judges the first d of a run, as if it had ended then.
func evaluatePrefix(t *testing.T, run *record.Run, samples []record.Sample, sc *scenarios.Scenario, d time.Duration) record.Verdict {
	t.Helper()
	meta := run.Meta
	phaseStart := meta.Phases[0].Start
	end := phaseStart.Add(d)
	meta.End = end
	meta.Phases = append([]record.PhaseMeta(nil), meta.Phases...)
	meta.Phases[0].End = end
	w, err := record.Create(filepath.Join(t.TempDir(), "prefix"))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range samples {
		if !s.Time.After(end) {
			w.Sample(s)
		}
	}
	if err := w.WriteMeta(meta); err != nil {
		t.Fatal(err)
	}
	w.Close()
	r, err := record.Open(w.Dir())
	if err != nil {
		t.Fatal(err)
	}
	v, err := checks.Evaluate(r, sc, checks.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return v
}
