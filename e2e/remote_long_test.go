package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/soak-dev/soak/internal/testbin"
	"github.com/soak-dev/soak/record"
	"github.com/soak-dev/soak/remote"
	"github.com/soak-dev/soak/runner"
	"github.com/soak-dev/soak/scenarios"
)

// TestRemoteMatchesLocal (SOAK_LONG=1, root, Prometheus): the reference
// SUT's proxy and target each run in a network namespace of their own
// with a `soak probe --listen` exporter beside them; a third namespace
// (the hub, joined to both by a bridge) runs Prometheus, scraping both
// exporters every second, and `soak run` with the fake S3. The scenario
// whose nodes are all remote (read from Prometheus) must give the same
// verdicts as the same scenario run and probed locally, healthy and with
// two named leaks, with the checks' figures within one scrape interval.
func TestRemoteMatchesLocal(t *testing.T) {
	if os.Getenv("SOAK_LONG") == "" {
		t.Skip("set SOAK_LONG=1: the reference SUT in network namespaces scraped by Prometheus, local vs remote (~4 minutes)")
	}
	if os.Geteuid() != 0 {
		t.Skip("needs root: creates network namespaces (ip netns add) and veth pairs")
	}
	prom, err := exec.LookPath("prometheus")
	if err != nil {
		t.Skip("prometheus not installed (make deps-test installs Debian's package)")
	}
	for _, tool := range []string{"ip", "curl"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not installed", tool)
		}
	}
	bin := testbin.Path(t)
	net := newNetns(t)
	startPrometheus(t, net, prom)

	// The rows read from Prometheus, then the healthy build read from the
	// exporters directly (remote: {exporter}, scraped by soak each tick).
	rows := []struct {
		matrixCase
		via string
	}{
		{matrixCase{leak: ""}, remote.SourcePrometheus},
		{matrixCase{leak: "server-no-idle-timeout", node: "proxy", check: "reclaim/client"}, remote.SourcePrometheus},
		{matrixCase{leak: "goroutine-per-request", node: "target", check: "no_growth/goroutines/target"}, remote.SourcePrometheus},
		{matrixCase{leak: ""}, remote.SourceExporter},
	}
	var table []string
	for _, row := range rows {
		c := row.matrixCase
		pl, tl := "", ""
		if c.node == "proxy" {
			pl = c.leak
		} else {
			tl = c.leak
		}
		local := runLocal(t, bin, matrixText("1s", nil, pl, tl))
		rem := runRemote(t, bin, net, row.via, pl, tl)
		lv, rv := byCheck(local.Verdict), byCheck(rem.Verdict)
		names := make([]string, 0, len(lv))
		for n := range lv {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			l, r := lv[n], rv[n]
			table = append(table, fmt.Sprintf("%-22s %-10s %-32s local %-12s %8.3f   remote %-12s %8.3f   diff %+.3f",
				leakName(c.leak), row.via, n, l.Status, l.Value, r.Status, r.Value, r.Value-l.Value))
			if r.Status != l.Status {
				t.Errorf("%s: %s: remote %s (%s), local %s (%s)", leakName(c.leak), n, r.Status, r.Message, l.Status, l.Message)
			}
			// Idle ages and ages are seconds: read from samples one
			// scrape apart, a figure may differ by one interval.
			if l.Unit == "s" && r.Status == l.Status && math.Abs(r.Value-l.Value) > 1.0+0.25 {
				t.Errorf("%s: %s: remote %.3f s, local %.3f s: more than one scrape interval (1 s) apart", leakName(c.leak), n, r.Value, l.Value)
			}
		}
		if c.check != "" && lv[c.check].Status != record.StatusFail {
			t.Errorf("%s: local %s is %s, want fail", c.leak, c.check, lv[c.check].Status)
		}
		if c.check == "" && local.Verdict.Status != record.StatusPass {
			t.Errorf("healthy: local verdict %s", local.Verdict.Status)
		}
		if extra := missing(lv, rv); extra != "" {
			t.Errorf("%s: checks in one run only: %s", leakName(c.leak), extra)
		}
	}
	t.Logf("scrape interval 1s (Prometheus), query step 1s, soak's own scrape of an exporter every 1s; checks local vs remote (value: the check's figure):\n%s", strings.Join(table, "\n"))
}

func byCheck(v record.Verdict) map[string]record.CheckResult {
	m := map[string]record.CheckResult{}
	for _, c := range v.Checks {
		m[c.Name] = c
	}
	return m
}

func missing(a, b map[string]record.CheckResult) string {
	var out []string
	for n := range a {
		if _, ok := b[n]; !ok {
			out = append(out, n+" (local only)")
		}
	}
	for n := range b {
		if _, ok := a[n]; !ok {
			out = append(out, n+" (remote only)")
		}
	}
	return strings.Join(out, ", ")
}

// runLocal runs the scenario in this process, nodes started and probed by soak.
func runLocal(t *testing.T, bin, text string) runner.Result {
	t.Helper()
	sc, err := scenarios.ParseScenario("matrix.yaml", []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	skip := make(chan struct{})
	close(skip)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	res, err := runner.Run(ctx, runner.Options{Scenario: sc, ScenarioYAML: []byte(text), ScenarioPath: "matrix.yaml",
		OutDir: runsDir(t), Name: "local", SoakBinary: bin, ProgressMode: "quiet", SkipReport: skip})
	if err != nil {
		t.Fatalf("local run: %v", err)
	}
	t.Logf("local: exit %d, verdict %s (%s)", res.ExitCode, res.Verdict.Status, res.Dir)
	return res
}

func runsDir(t *testing.T) string {
	if d := os.Getenv("SOAK_KEEP_RUNS"); d != "" {
		return d
	}
	return t.TempDir()
}

// netns is the test's three namespaces: the hub (soak run, Prometheus,
// the fake S3 at 10.R.0.1) bridged to one namespace per SUT node.
type netns struct {
	hub, proxy, target            string
	hubIP, proxyIP, targetIP      string
	proxyPort, targetPort, s3Port int
	exporterPort                  int
}

func ipCmd(t *testing.T, args ...string) {
	t.Helper()
	if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
		t.Fatalf("ip %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// newNetns creates the namespaces (names and addresses from the test's
// pid, so parallel runs do not meet) and removes them at the end.
func newNetns(t *testing.T) *netns {
	t.Helper()
	id := os.Getpid() % 200
	sub := fmt.Sprintf("10.%d.%d", 200+id%50, id)
	n := &netns{hub: fmt.Sprintf("soakhub%d", os.Getpid()), proxy: fmt.Sprintf("soakproxy%d", os.Getpid()),
		target: fmt.Sprintf("soaktarget%d", os.Getpid()), hubIP: sub + ".1", proxyIP: sub + ".2", targetIP: sub + ".3",
		proxyPort: 8080, targetPort: 8081, s3Port: 9000, exporterPort: 9469}
	for _, ns := range []string{n.hub, n.proxy, n.target} {
		ipCmd(t, "netns", "add", ns)
		t.Cleanup(func() { exec.Command("ip", "netns", "del", ns).Run() })
		ipCmd(t, "-n", ns, "link", "set", "lo", "up")
	}
	ipCmd(t, "-n", n.hub, "link", "add", "br0", "type", "bridge")
	ipCmd(t, "-n", n.hub, "addr", "add", n.hubIP+"/24", "dev", "br0")
	ipCmd(t, "-n", n.hub, "link", "set", "br0", "up")
	for i, ns := range []struct{ name, ip string }{{n.proxy, n.proxyIP}, {n.target, n.targetIP}} {
		hubEnd := fmt.Sprintf("veth%d", i)
		ipCmd(t, "-n", n.hub, "link", "add", hubEnd, "type", "veth", "peer", "name", "eth0", "netns", ns.name)
		ipCmd(t, "-n", n.hub, "link", "set", hubEnd, "master", "br0")
		ipCmd(t, "-n", n.hub, "link", "set", hubEnd, "up")
		ipCmd(t, "-n", ns.name, "addr", "add", ns.ip+"/24", "dev", "eth0")
		ipCmd(t, "-n", ns.name, "link", "set", "eth0", "up")
	}
	return n
}

// inNS starts a command in namespace ns, its output in log; it is
// killed at the end of the test.
func inNS(t *testing.T, ns, log string, args ...string) *exec.Cmd {
	t.Helper()
	f, err := os.Create(log)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("ip", append([]string{"netns", "exec", ns}, args...)...)
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); f.Close(); close(done) }()
	stop := func() {
		select {
		case <-done:
			return
		default:
		}
		cmd.Process.Signal(os.Interrupt)
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			cmd.Process.Kill()
			<-done
		}
	}
	t.Cleanup(stop)
	cmd.Cancel = func() error { stop(); return nil }
	return cmd
}

// curlNS GETs url from inside ns (the test process is in none of them).
func curlNS(ns, url string) ([]byte, error) {
	return exec.Command("ip", "netns", "exec", ns, "curl", "-sf", "--max-time", "2", url).Output()
}

func startPrometheus(t *testing.T, n *netns, bin string) {
	t.Helper()
	dir := t.TempDir()
	cfg := fmt.Sprintf(`global: {scrape_interval: 1s, scrape_timeout: 900ms, evaluation_interval: 1s}
scrape_configs:
  - job_name: soak
    static_configs: [{targets: ["%s:%d", "%s:%d"]}]
`, n.proxyIP, n.exporterPort, n.targetIP, n.exporterPort)
	if err := os.WriteFile(filepath.Join(dir, "prometheus.yml"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	inNS(t, n.hub, filepath.Join(dir, "prometheus.log"), bin, "--config.file="+filepath.Join(dir, "prometheus.yml"),
		"--storage.tsdb.path="+filepath.Join(dir, "data"), "--web.listen-address=127.0.0.1:9090")
	for deadline := time.Now().Add(30 * time.Second); ; {
		if _, err := curlNS(n.hub, "http://127.0.0.1:9090/-/ready"); err == nil {
			return
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(filepath.Join(dir, "prometheus.log"))
			t.Fatalf("prometheus not ready after 30 s:\n%s", log)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// runRemote starts the two nodes and their exporters in their
// namespaces, waits until Prometheus holds both exporters' series of
// these processes, runs the all-remote scenario with soak in the hub and
// reads its verdict back from the run directory.
func runRemote(t *testing.T, bin string, n *netns, via, proxyLeak, targetLeak string) runner.Result {
	t.Helper()
	logs := t.TempDir()
	targetURL := fmt.Sprintf("http://%s:%d", n.targetIP, n.targetPort)
	proxyURL := fmt.Sprintf("http://%s:%d", n.proxyIP, n.proxyPort)
	s3URL := fmt.Sprintf("http://%s:%d", n.hubIP, n.s3Port)
	tgt := inNS(t, n.target, filepath.Join(logs, "target.log"), bin, "testsut", "--role", "target",
		"--listen", fmt.Sprintf("%s:%d", n.targetIP, n.targetPort), "--backend", s3URL, "--bucket", "soak",
		"--idle-timeout", "30s", "--backend-idle-conn-timeout", "1s", "--leak", targetLeak)
	prx := inNS(t, n.proxy, filepath.Join(logs, "proxy.log"), bin, "testsut", "--role", "proxy",
		"--listen", fmt.Sprintf("%s:%d", n.proxyIP, n.proxyPort), "--targets", targetURL,
		"--idle-timeout", "1s", "--intra-idle-conn-timeout", "1s", "--leak", proxyLeak)
	defer tgt.Cancel()
	defer prx.Cancel()
	for _, nd := range []struct{ ns, url string }{{n.target, targetURL}, {n.proxy, proxyURL}} {
		waitHTTPNS(t, nd.ns, nd.url+"/health")
	}
	node := func(ip, url string) string {
		if via == remote.SourceExporter {
			return fmt.Sprintf(`remote: {exporter: "http://%s:%d/metrics", url: %q}`, ip, n.exporterPort, url)
		}
		return fmt.Sprintf(`remote: {prometheus: "http://127.0.0.1:9090", match: '{instance="%s:%d"}', step: 1s, url: %q}`,
			ip, n.exporterPort, url)
	}
	nodes := map[string]string{
		"proxy":  node(n.proxyIP, proxyURL),
		"target": node(n.targetIP, targetURL),
		"s3":     fmt.Sprintf("listen: %q", fmt.Sprintf("%s:%d", n.hubIP, n.s3Port)),
	}
	text := matrixText("1s", nodes, proxyLeak, targetLeak)
	path := filepath.Join(t.TempDir(), "remote.yaml")
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	// ip netns exec execs the command after entering the namespace: the
	// SUT's pid is the one started. Each exporter takes its node's layer
	// rules from the scenario (the proxy's client and intra, the target's
	// backend and the server side of intra).
	exp := func(ns, node, ip string, port, pid int) *exec.Cmd {
		return inNS(t, ns, filepath.Join(logs, node+"-exporter.log"), bin, "probe",
			"--listen", fmt.Sprintf("%s:%d", ip, n.exporterPort), "--node", node, "--scenario", path,
			"--pid", strconv.Itoa(pid), "--pprof", fmt.Sprintf("http://%s:%d/debug/pprof/goroutine?debug=1", ip, port))
	}
	pe := exp(n.proxy, "proxy", n.proxyIP, n.proxyPort, prx.Process.Pid)
	te := exp(n.target, "target", n.targetIP, n.targetPort, tgt.Process.Pid)
	defer pe.Cancel()
	defer te.Cancel()
	waitScraped(t, n)
	for _, node := range []string{"proxy", "target"} {
		b, _ := os.ReadFile(filepath.Join(logs, node+"-exporter.log"))
		t.Logf("%s exporter: %s", node, strings.TrimSpace(string(b)))
	}

	out := runsDir(t)
	run := exec.Command("ip", "netns", "exec", n.hub, bin, "run", path, "--out", out, "--name", "remote", "--quiet")
	b, _ := run.CombinedOutput()
	code := run.ProcessState.ExitCode()
	matches, _ := filepath.Glob(filepath.Join(out, "*_remote*"))
	sort.Strings(matches)
	if len(matches) == 0 {
		t.Fatalf("remote run (exit %d) left no run directory:\n%s", code, b)
	}
	rd, err := record.Open(matches[len(matches)-1])
	if err != nil {
		t.Fatal(err)
	}
	v, err := rd.Verdict()
	if err != nil {
		t.Fatalf("remote run (exit %d): %v\n%s", code, err, b)
	}
	meta, _ := json.Marshal(rd.Meta.Nodes)
	t.Logf("remote: exit %d, verdict %s (%s); nodes %s", code, v.Status, rd.Dir, meta)
	return runner.Result{Dir: rd.Dir, ExitCode: code, Verdict: *v}
}

func waitHTTPNS(t *testing.T, ns, url string) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); ; {
		if _, err := curlNS(ns, url); err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not answering in namespace %s", url, ns)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// waitScraped waits until Prometheus has scraped both exporters with
// every probe succeeding.
func waitScraped(t *testing.T, n *netns) {
	t.Helper()
	q := "http://127.0.0.1:9090/api/v1/query?query=count(min_over_time(soak_scrape_probe_success%5B2s%5D)%3D%3D1)"
	var last []byte
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(500 * time.Millisecond) {
		b, err := curlNS(n.hub, q)
		last = b
		if err == nil && strings.Contains(string(b), `"8"]`) { // 4 probes x 2 nodes
			return
		}
	}
	t.Fatalf("prometheus has not scraped both exporters: %s", last)
}
