package testsut

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
)

// proc is one node started as a child process of the test binary.
type proc struct {
	cmd  *exec.Cmd
	addr string
	port int
	log  *bytes.Buffer
	term sync.Once
}

// terminate sends the node SIGTERM, once: a second one could reach it after
// it stopped catching the signal and kill it.
func (p *proc) terminate() { p.term.Do(func() { p.cmd.Process.Signal(syscall.SIGTERM) }) }

func (p *proc) pid() int { return p.cmd.Process.Pid }

// url is the node's base URL.
func (p *proc) url() string { return "http://" + p.addr }

// startNode runs cfg in a child process and waits until it serves.
func startNode(t *testing.T, cfg Config) *proc {
	t.Helper()
	cfg.Listen = "127.0.0.1:0"
	js, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+string(js))
	p := &proc{cmd: cmd, log: &bytes.Buffer{}}
	cmd.Stderr = &syncWriter{w: p.log}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		p.terminate()
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("%s exited: %v\n%s", cfg.Role, err, p.log)
			}
		case <-time.After(15 * time.Second):
			cmd.Process.Kill()
			<-done
			t.Errorf("%s did not stop on SIGTERM within 15s", cfg.Role)
		}
	})
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "ADDR ") {
		t.Fatalf("%s did not start: %q %v\n%s", cfg.Role, line, err, p.log)
	}
	p.addr = strings.TrimSpace(strings.TrimPrefix(line, "ADDR "))
	_, port, _ := net.SplitHostPort(p.addr)
	p.port, _ = strconv.Atoi(port)
	go io.Copy(io.Discard, out)
	return p
}

type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(b []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(b)
}

// cluster is a proxy, a target and a gofakes3 backend on loopback.
type cluster struct {
	backend       *httptest.Server
	backendPort   int
	proxy, target *proc
}

// clusterOpts tweak the two nodes' configs from the short-timeout defaults.
type clusterOpts struct {
	engine              Engine
	proxyLeaks          []Leak
	targetLeaks         []Leak
	targetIdleTimeout   time.Duration
	long                bool // long timeouts everywhere (for measuring)
	accessKey, secretKy string
}

// shortTimeout is every idle timeout of the tests' clusters.
const shortTimeout = time.Second

func startCluster(t *testing.T, o clusterOpts) *cluster {
	t.Helper()
	backend := httptest.NewServer(gofakes3.New(s3mem.New(), gofakes3.WithAutoBucket(true)).Server())
	t.Cleanup(backend.Close)
	bu, _ := url.Parse(backend.URL)
	bport, _ := strconv.Atoi(bu.Port())
	to := shortTimeout
	if o.long {
		to = time.Minute
	}
	tc := DefaultConfig()
	tc.Role, tc.Engine, tc.Backend, tc.Bucket = RoleTarget, o.engine, backend.URL, "soak"
	tc.IdleTimeout, tc.BackendIdleConnTimeout, tc.Leaks = to, to, o.targetLeaks
	tc.AccessKey, tc.SecretKey = o.accessKey, o.secretKy
	if o.targetIdleTimeout != 0 {
		tc.IdleTimeout = o.targetIdleTimeout
	}
	target := startNode(t, tc)
	pc := DefaultConfig()
	pc.Role, pc.Engine, pc.Targets = RoleProxy, o.engine, []string{target.url()}
	pc.IdleTimeout, pc.IntraIdleConnTimeout, pc.Leaks = to, to, o.proxyLeaks
	proxy := startNode(t, pc)
	// Stop both nodes at once: each takes a second to exit (the race
	// detector's exit sleep), and their cleanups wait one after the other.
	t.Cleanup(func() {
		proxy.terminate()
		target.terminate()
	})
	return &cluster{backend: backend, backendPort: bport, proxy: proxy, target: target}
}

// objectSize is the size of the tests' objects.
const objectSize = 4 << 10

// loadResult is what a bounded load loop did.
type loadResult struct {
	ok, failed int
	elapsed    time.Duration
}

// load PUTs nObjects objects, then runs workers GET loops of perWorker
// requests each through the proxy. The client keeps its connections open
// (no idle timeout), so only the server can reclaim them. It returns the
// client, whose idle connections the caller closes.
func load(t *testing.T, c *cluster, workers, perWorker, nObjects int) (loadResult, *http.Client) {
	t.Helper()
	tr := &http.Transport{MaxIdleConnsPerHost: workers, DisableCompression: true}
	cl := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	t.Cleanup(tr.CloseIdleConnections)
	body := bytes.Repeat([]byte("s"), objectSize)
	for i := 0; i < nObjects; i++ {
		req, _ := http.NewRequest(http.MethodPut, fmt.Sprintf("%s/v1/objects/soak/obj-%d", c.proxy.url(), i), bytes.NewReader(body))
		resp, err := cl.Do(req)
		if err != nil {
			t.Fatalf("put: %v", err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("put obj-%d: status %d", i, resp.StatusCode)
		}
	}
	var mu sync.Mutex
	var res loadResult
	start := time.Now()
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			ok, failed := 0, 0
			for i := 0; i < perWorker; i++ {
				resp, err := cl.Get(fmt.Sprintf("%s/v1/objects/soak/obj-%d", c.proxy.url(), (w*perWorker+i)%nObjects))
				if err != nil {
					failed++
					continue
				}
				n, _ := io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode == http.StatusOK && n == objectSize {
					ok++
				} else {
					failed++
				}
			}
			mu.Lock()
			res.ok += ok
			res.failed += failed
			mu.Unlock()
		}(w)
	}
	wg.Wait()
	res.elapsed = time.Since(start)
	return res, cl
}

// goroutines reads go_goroutines from a node's /metrics.
func goroutines(t *testing.T, p *proc) int {
	t.Helper()
	resp, err := http.Get(p.url() + "/metrics")
	if err != nil {
		t.Fatalf("metrics: %v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	m := regexp.MustCompile(`(?m)^go_goroutines (\d+)$`).FindSubmatch(b)
	if m == nil {
		t.Fatalf("no go_goroutines in /metrics:\n%s", b)
	}
	n, _ := strconv.Atoi(string(m[1]))
	return n
}

// stackCounts counts a node's goroutines whose stacks contain each function,
// from /debug/pprof/goroutine?debug=1.
func stackCounts(t *testing.T, p *proc, funcs ...string) map[string]int {
	t.Helper()
	resp, err := http.Get(p.url() + "/debug/pprof/goroutine?debug=1")
	if err != nil {
		t.Fatalf("pprof: %v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	out := map[string]int{}
	_, groups, _ := strings.Cut(string(b), "\n") // "goroutine profile: total N"
	for _, group := range strings.Split(groups, "\n\n") {
		var n int
		if _, err := fmt.Sscanf(group, "%d @", &n); err != nil {
			continue
		}
		for _, f := range funcs {
			if strings.Contains(group, f) {
				out[f] += n
			}
		}
	}
	return out
}

// layers are the ESTABLISHED / CLOSE_WAIT counts on each layer, from /proc.
type layers struct {
	client, intraProxy, intraTarget, backend int // ESTABLISHED
	closeWaitTarget                          int
}

func (c *cluster) layers(t *testing.T) layers {
	t.Helper()
	s, err := procSockets(c.proxy.pid(), c.target.pid())
	if err != nil {
		t.Fatal(err)
	}
	ps, ts := s[0], s[1]
	return layers{
		client:          count(ps, "ESTABLISHED", c.proxy.port, 0),
		intraProxy:      count(ps, "ESTABLISHED", 0, c.target.port),
		intraTarget:     count(ts, "ESTABLISHED", c.target.port, 0),
		backend:         count(ts, "ESTABLISHED", 0, c.backendPort) + count(ts, "CLOSE_WAIT", 0, c.backendPort),
		closeWaitTarget: count(ts, "CLOSE_WAIT", 0, 0),
	}
}
