package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/soak-dev/soak/internal/clitest"
	"github.com/soak-dev/soak/internal/testbin"
	"github.com/soak-dev/soak/record"
)

// countingServerEnv makes the test binary a loopback-free HTTP server on
// the address it names (in a namespace the test made), counting requests
// and connections by peer address; GET /count reports them as JSON.
const countingServerEnv = "SOAK_E2E_COUNTING_SERVER"

type serverCounts struct {
	Requests int64            `json:"requests"`
	Conns    int64            `json:"conns"`
	ByPeer   map[string]int64 `json:"by_peer"` // connections by peer IP
}

func countingServer(addr string) {
	var (
		requests, conns atomic.Int64
		mu              sync.Mutex
		byPeer          = map[string]int64{}
	)
	srv := &http.Server{Addr: addr, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/count" {
			mu.Lock()
			json.NewEncoder(w).Encode(serverCounts{Requests: requests.Load(), Conns: conns.Load(), ByPeer: byPeer})
			mu.Unlock()
			return
		}
		requests.Add(1)
		fmt.Fprintln(w, "ok")
	}), ConnState: func(c net.Conn, s http.ConnState) {
		if s != http.StateNew {
			return
		}
		host, _, _ := net.SplitHostPort(c.RemoteAddr().String())
		if host == countHost {
			return // the test's own /count
		}
		conns.Add(1)
		mu.Lock()
		byPeer[host]++
		mu.Unlock()
	}}
	fmt.Fprintln(os.Stderr, srv.ListenAndServe())
	os.Exit(1)
}

// fetchEnv makes the test binary print the body of a GET of the URL it
// names (a client in a namespace the test made).
const fetchEnv = "SOAK_E2E_FETCH"

func fetchURL(u string) {
	c := &http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get(u)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		os.Exit(1)
	}
	io.Copy(os.Stdout, resp.Body)
	os.Exit(0)
}

// The namespaces: one segment, a bridge in the SUT's namespace.
const (
	sutIP     = "10.213.0.1"
	countHost = "10.213.0.9" // the namespace the test reads /count from
)

// TestShardsInNamespaces (SOAK_LONG=1, root): two shards of one scenario,
// each in a network namespace of its own (as two hosts), load one SUT in
// a third; merged, they match one unsharded run from a fourth namespace
// against a twin SUT: requests and connections per phase, by soak's
// results and by the servers' own counts.
func TestShardsInNamespaces(t *testing.T) {
	if os.Getenv("SOAK_LONG") == "" {
		t.Skip("set SOAK_LONG=1: two shards and one unsharded run in network namespaces (~30 s)")
	}
	if os.Geteuid() != 0 {
		t.Skip("needs root to create network namespaces (ip netns add)")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("needs iproute2's ip")
	}
	bin := testbin.Path(t)
	tag := strconv.Itoa(os.Getpid() % 100000)
	ns := func(n string) string { return "soak" + n + tag }
	sut := ns("S")
	ipc(t, "netns", "add", sut)
	t.Cleanup(func() { exec.Command("ip", "netns", "del", sut).Run() })
	ipc(t, "-n", sut, "link", "set", "lo", "up")
	ipc(t, "-n", sut, "link", "add", "br0", "type", "bridge")
	ipc(t, "-n", sut, "addr", "add", sutIP+"/24", "dev", "br0")
	ipc(t, "-n", sut, "link", "set", "br0", "up")
	hosts := map[string]string{"A": "10.213.0.2", "B": "10.213.0.3", "U": "10.213.0.4", "C": countHost}
	for _, h := range []string{"A", "B", "U", "C"} {
		name, veth := ns(h), "sv"+h+tag
		ipc(t, "netns", "add", name)
		t.Cleanup(func() { exec.Command("ip", "netns", "del", name).Run() })
		ipc(t, "-n", name, "link", "set", "lo", "up")
		ipc(t, "-n", name, "link", "add", "eth0", "type", "veth", "peer", "name", veth, "netns", sut)
		ipc(t, "-n", name, "addr", "add", hosts[h]+"/24", "dev", "eth0")
		ipc(t, "-n", name, "link", "set", "eth0", "up")
		ipc(t, "-n", sut, "link", "set", veth, "master", "br0")
		ipc(t, "-n", sut, "link", "set", veth, "up")
	}

	// Two twin SUTs in the SUT's namespace: one for the shards, one for the unsharded run.
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	start := func(addr string) int {
		cmd := exec.Command("ip", "netns", "exec", sut, self)
		cmd.Env = append(os.Environ(), countingServerEnv+"="+addr)
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
		return cmd.Process.Pid // ip netns exec execs: the server keeps its pid
	}
	shardPID, wholePID := start(sutIP+":8080"), start(sutIP+":8081")
	// The test reads /count from a namespace of its own (the root one has
	// no route there), through the test binary as a client.
	fetch := func(port string) ([]byte, error) {
		cmd := exec.Command("ip", "netns", "exec", ns("C"), self)
		cmd.Env = append(os.Environ(), fetchEnv+"=http://"+sutIP+":"+port+"/count")
		return cmd.Output()
	}
	counts := func(port string) serverCounts {
		var c serverCounts
		b, err := fetch(port)
		if err != nil {
			t.Fatalf("read the server's counts: %v", err)
		}
		if err := json.Unmarshal(b, &c); err != nil {
			t.Fatalf("server counts %q: %v", b, err)
		}
		return c
	}
	for end := time.Now().Add(20 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		_, e1 := fetch("8080")
		_, e2 := fetch("8081")
		if e1 == nil && e2 == nil {
			break
		}
		if time.Now().After(end) {
			t.Fatal("the SUTs never answered in their namespace")
		}
	}

	dir := t.TempDir()
	scenario := func(pid int, port string) string {
		p := filepath.Join(dir, port+".yaml")
		text := fmt.Sprintf(`name: sharded
interval: 500ms
nodes:
  sut: {attach: {pid: %d, url: "http://%s:%s"}}
phases:
  - {name: warm, steady: {rate: 40/s, duration: 3s, connections: 8}}
  - {name: hold, idle: {connections: 50, duration: 2s}}
  - {name: churn, churn: {rate: 21/s, duration: 2s}}
`, pid, sutIP, port)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	shardSc, wholeSc := scenario(shardPID, "8080"), scenario(wholePID, "8081")
	runs := []struct{ ns, sc, shard string }{{"A", shardSc, "1/2"}, {"B", shardSc, "2/2"}, {"U", wholeSc, ""}}
	var wg sync.WaitGroup
	begin := time.Now()
	for _, r := range runs {
		wg.Go(func() {
			args := []string{"netns", "exec", ns(r.ns), bin, "run", r.sc, "-q", "-o", filepath.Join(dir, r.ns)}
			if r.shard != "" {
				args = append(args, "--shard", r.shard)
			}
			if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
				t.Errorf("ip %v: %v\n%s", args, err, out)
			}
		})
	}
	wg.Wait()
	took := time.Since(begin)
	if t.Failed() {
		return
	}
	merged := filepath.Join(dir, "merged")
	if out, err := exec.Command(bin, "merge", onlyRun(t, filepath.Join(dir, "A")), onlyRun(t, filepath.Join(dir, "B")), "-o", merged).CombinedOutput(); err != nil {
		t.Fatalf("soak merge: %v\n%s", err, out)
	}
	got, want := clitest.PhaseCounts(t, merged), clitest.PhaseCounts(t, onlyRun(t, filepath.Join(dir, "U")))
	sc, wc := counts("8080"), counts("8081")
	t.Logf("runs took %v; merged shards %v, unsharded %v; servers: shards' %d requests, %d connections (by peer %v), unsharded's %d requests, %d connections (by peer %v)",
		took.Round(time.Second), got, want, sc.Requests, sc.Conns, sc.ByPeer, wc.Requests, wc.Conns, wc.ByPeer)
	for _, k := range []string{"warm requests", "hold requests", "hold conns", "churn requests", "churn conns"} {
		if got[k] != want[k] || got[k] == 0 {
			t.Errorf("%s: merged shards %d, unsharded run %d", k, got[k], want[k])
		}
	}
	if sc.Requests != wc.Requests {
		t.Errorf("the servers got %d requests from the shards, %d from the unsharded run", sc.Requests, wc.Requests)
	}
	if sc.ByPeer[hosts["A"]] == 0 || sc.ByPeer[hosts["B"]] == 0 || len(sc.ByPeer) != 2 {
		t.Errorf("the shards' server saw connections from %v, want both shards' namespaces (%s, %s)", sc.ByPeer, hosts["A"], hosts["B"])
	}
	if out, err := exec.Command(bin, "report", merged).CombinedOutput(); err != nil {
		t.Errorf("soak report of the merged run: %v\n%s", err, out)
	}
	m, err := record.Open(merged)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	samples, _ := m.Samples()
	t.Logf("merged run: %d samples of node sut (from shard 1), shards %+v", len(samples), m.Meta.Shards)
	if len(samples) == 0 {
		t.Error("the merged run has no samples of the SUT")
	}
}

func ipc(t *testing.T, args ...string) {
	t.Helper()
	if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
		t.Fatalf("ip %v: %v\n%s", args, err, out)
	}
}

// onlyRun is the one run directory under out.
func onlyRun(t *testing.T, out string) string {
	t.Helper()
	m, _ := filepath.Glob(filepath.Join(out, "*", record.MetaFile))
	if len(m) != 1 {
		t.Fatalf("%s: %d run directories, want 1", out, len(m))
	}
	return filepath.Dir(m[0])
}
