package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/soak-dev/soak/internal/testbin"
)

// TestAlertFiresInPrometheus (SOAK_LONG=1) is the proof of `soak rules`
// in a real Prometheus (Debian's, 2.42): the reference SUT's proxy,
// healthy and with server-no-idle-timeout, exported by `soak probe
// --listen`, scraped every second, the generated rules evaluated every
// second. Ten connections are held idle for 15 s: the leaking build must
// fire SoakIdleConnectionNotReclaimed (limit 1 s + 1.5 s), the healthy one
// must not, while Prometheus shows it scraped the healthy one's sockets.
func TestAlertFiresInPrometheus(t *testing.T) {
	if os.Getenv("SOAK_LONG") == "" {
		t.Skip("set SOAK_LONG=1: runs Prometheus against the reference SUT (~40 s)")
	}
	prom, err := exec.LookPath("prometheus")
	if err != nil {
		t.Skip("prometheus not installed (Debian: apt-get install prometheus, or make deps-test)")
	}
	bin := testbin.Path(t)
	for _, leak := range []string{"", "server-no-idle-timeout"} {
		t.Run(leakName(leak), func(t *testing.T) {
			t.Parallel()
			alertRun(t, bin, prom, leak)
		})
	}
}

const alertScenario = `name: alerts
interval: 1s
nodes:
  proxy: {command: [x]}
layers:
  client: {node: proxy, listen: proxy, idle_timeout: 1s}
phases:
  - {name: hold, idle: {connections: 10, duration: 15s}}
expect:
  - reclaim: {layer: client}
`

func alertRun(t *testing.T, bin, prom, leak string) {
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	// The SUT: the proxy alone (its /health needs no target).
	sutAddr := freeAddr(t)
	args := []string{"testsut", "--role", "proxy", "--listen", sutAddr, "--targets", "http://127.0.0.1:9",
		"--idle-timeout", "1s", "--read-header-timeout", "1s"}
	if leak != "" {
		args = append(args, "--leak", leak)
	}
	sut := startProc(ctx, t, bin, args...)
	waitHTTP(t, "http://"+sutAddr+"/health")

	// The exporter, on the SUT's process.
	_, port, _ := net.SplitHostPort(sutAddr)
	exp := startProc(ctx, t, bin, "probe", "--listen", "127.0.0.1:0", "--pid", strconv.Itoa(sut.cmd.Process.Pid),
		"--node", "proxy", "--layer", "client=local:"+port)
	expURL := exp.waitMatch(t, regexp.MustCompile(`http://(\S+)/metrics`), 20*time.Second)

	// The rules, from the scenario.
	scPath := filepath.Join(dir, "alerts.yaml")
	if err := os.WriteFile(scPath, []byte(alertScenario), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(bin, "rules", scPath, "--eval-interval", "1s", "-o", filepath.Join(dir, "rules.yml")).CombinedOutput(); err != nil {
		t.Fatalf("soak rules: %v\n%s", err, out)
	}

	// Prometheus: scrape every second, rules every second.
	promAddr := freeAddr(t)
	cfg := fmt.Sprintf(`global: {scrape_interval: 1s, evaluation_interval: 1s}
rule_files: [rules.yml]
scrape_configs:
  - job_name: soak
    static_configs: [{targets: [%q]}]
`, expURL)
	if err := os.WriteFile(filepath.Join(dir, "prometheus.yml"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	p := startProc(ctx, t, prom, "--config.file="+filepath.Join(dir, "prometheus.yml"),
		"--storage.tsdb.path="+filepath.Join(dir, "data"), "--web.listen-address="+promAddr)
	p.cmd.Dir = dir
	api := "http://" + promAddr
	waitHTTP(t, api+"/-/ready")
	// Up and scraped before the hold starts.
	deadline := time.Now().Add(30 * time.Second)
	for query(t, api, `soak_scrape_probe_success{node="proxy",probe="sockets"}`) != 1 {
		if time.Now().After(deadline) {
			t.Fatalf("Prometheus never scraped the exporter's sockets probe\nexporter: %s\nprometheus: %s", exp.out(), p.out())
		}
		time.Sleep(500 * time.Millisecond)
	}

	// Ten connections, one request each, then silent.
	held := holdIdle(t, sutAddr, 10)
	start := time.Now()
	var fired, pending time.Duration
	for time.Since(start) < 20*time.Second {
		switch alertState(t, api, "SoakIdleConnectionNotReclaimed") {
		case "firing":
			if fired == 0 {
				fired = time.Since(start)
			}
		case "pending":
			if pending == 0 {
				pending = time.Since(start)
			}
		}
		if leak != "" && fired > 0 {
			break
		}
		time.Sleep(250 * time.Millisecond)
	}
	open := 0
	for _, c := range held {
		if alive(c) {
			open++
		}
		c.Close()
	}
	window := fmt.Sprintf("[%ds]", int(time.Since(start).Seconds())+1)
	maxIdle := query(t, api, `max_over_time(soak_socket_idle_max_seconds{node="proxy",layer="client"}`+window+`)`)
	scrapes := query(t, api, `count_over_time(soak_scrape_probe_success{node="proxy",probe="sockets"}`+window+`)`)
	when := "never fired"
	if fired > 0 {
		when = fmt.Sprintf("fired %v into the hold", fired.Round(100*time.Millisecond))
	}
	t.Logf("%s: alert SoakIdleConnectionNotReclaimed %s; Prometheus scraped the sockets %v times in the %v watched, longest idle age seen %.2fs; %d of 10 held connections still open at the end",
		leakName(leak), when, scrapes, time.Since(start).Round(time.Second), maxIdle, open)
	if maxIdle == 0 {
		t.Fatalf("Prometheus never saw an idle connection of the client layer: the exporter's layer rule matched nothing\nexporter: %s", exp.out())
	}
	if leak == "" {
		if scrapes < 10 {
			t.Fatalf("Prometheus scraped the sockets %v times in 20 s: too few to call the alert's silence evidence", scrapes)
		}
		if fired > 0 || pending > 0 {
			t.Errorf("healthy build: alert fired after %v (pending %v); longest idle %.2fs", fired, pending, maxIdle)
		}
		if open != 0 || maxIdle > 2.5 {
			t.Errorf("healthy build: %d connections open, longest idle %.2fs: the server did not reclaim them", open, maxIdle)
		}
		return
	}
	if fired == 0 {
		t.Errorf("leaking build: alert never fired in 20 s; longest idle %.2fs\nrules: %s", maxIdle, readFile(t, filepath.Join(dir, "rules.yml")))
	}
}

// proc is a process the test started; its output is kept.
type proc struct {
	cmd *exec.Cmd
	mu  sync.Mutex
	buf bytes.Buffer
}

func (p *proc) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.buf.Write(b)
}

func (p *proc) out() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.buf.String()
}

func (p *proc) waitMatch(t *testing.T, re *regexp.Regexp, d time.Duration) string {
	t.Helper()
	for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(100 * time.Millisecond) {
		if m := re.FindStringSubmatch(p.out()); m != nil {
			return m[1]
		}
	}
	t.Fatalf("%s: no %s in its output in %v:\n%s", p.cmd.Path, re, d, p.out())
	return ""
}

// startProc starts a process whose output is kept; it is interrupted
// (then killed) when the test ends.
func startProc(ctx context.Context, t *testing.T, name string, args ...string) *proc {
	t.Helper()
	p := &proc{}
	p.cmd = exec.CommandContext(ctx, name, args...)
	p.cmd.Stdout, p.cmd.Stderr = p, p
	p.cmd.Cancel = func() error { return p.cmd.Process.Signal(os.Interrupt) }
	p.cmd.WaitDelay = 10 * time.Second
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		p.cmd.Process.Signal(os.Interrupt)
		p.cmd.Wait()
	})
	return p
}

// freeAddr is a loopback address with a port free a moment ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func waitHTTP(t *testing.T, u string) {
	t.Helper()
	for end := time.Now().Add(30 * time.Second); time.Now().Before(end); time.Sleep(200 * time.Millisecond) {
		if resp, err := http.Get(u); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
	}
	t.Fatalf("%s not ready in 30 s", u)
}

// holdIdle opens n connections, makes one request on each and returns
// them open and silent.
func holdIdle(t *testing.T, addr string, n int) []net.Conn {
	t.Helper()
	var out []net.Conn
	for range n {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		fmt.Fprintf(c, "GET /health HTTP/1.1\r\nHost: %s\r\n\r\n", addr)
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		out = append(out, c)
	}
	return out
}

// alive says whether the server has not closed c (a read would block).
func alive(c net.Conn) bool {
	c.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
	_, err := c.Read(make([]byte, 1))
	ne, ok := err.(net.Error)
	return ok && ne.Timeout()
}

// query returns the first value of an instant query (NaN-free: 0 when empty).
func query(t *testing.T, api, q string) float64 {
	t.Helper()
	var r struct {
		Data struct {
			Result []struct {
				Value [2]any `json:"value"`
			} `json:"result"`
		} `json:"data"`
	}
	getJSON(t, api+"/api/v1/query?query="+url.QueryEscape(q), &r)
	if len(r.Data.Result) == 0 {
		return 0
	}
	s, _ := r.Data.Result[0].Value[1].(string)
	v, _ := strconv.ParseFloat(s, 64)
	return v
}

// alertState is the state of the named alert in /api/v1/alerts ("" : none).
func alertState(t *testing.T, api, name string) string {
	t.Helper()
	var r struct {
		Data struct {
			Alerts []struct {
				Labels map[string]string `json:"labels"`
				State  string            `json:"state"`
			} `json:"alerts"`
		} `json:"data"`
	}
	getJSON(t, api+"/api/v1/alerts", &r)
	state := ""
	for _, a := range r.Data.Alerts {
		if a.Labels["alertname"] == name && (state == "" || a.State == "firing") {
			state = a.State
		}
	}
	return state
}

func getJSON(t *testing.T, u string, v any) {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("%s: %v", u, err)
	}
}

func readFile(t *testing.T, p string) string {
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
