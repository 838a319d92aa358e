package testsut

import (
	"context"
	"encoding/json"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// stats are a node's counters.
type stats struct {
	requests, errors, leaked atomic.Int64
}

// node is one role's engine-independent logic: object routes, health,
// metrics, and the goroutine-per-request leak.
type node struct {
	cfg     Config
	objects objectHandler
	closer  func()
	stats   stats
	ready   atomic.Bool
	// forever is closed when the node stops; leaked goroutines wait on it,
	// which is "forever" for the process and keeps in-process tests clean.
	forever  chan struct{}
	stopOnce sync.Once
	addr     string
}

func newNode(cfg Config) *node {
	n := &node{cfg: cfg, forever: make(chan struct{})}
	switch cfg.Role {
	case RoleProxy:
		p := newProxy(cfg)
		n.objects, n.closer = p, p.close
	case RoleTarget:
		t := newTarget(cfg)
		n.objects, n.closer = t, t.close
	}
	return n
}

// object serves one object request through the role.
func (n *node) object(ctx context.Context, r request) response {
	n.stats.requests.Add(1)
	if n.cfg.has(LeakGoroutinePerRequest) {
		// The bug: a per-request watcher that waits on a channel nobody closes.
		n.stats.leaked.Add(1)
		go func() {
			<-n.forever
			n.stats.leaked.Add(-1)
		}()
	}
	resp := n.objects.serveObject(ctx, r)
	if resp.status >= 500 {
		n.stats.errors.Add(1)
	}
	return resp
}

// stop releases what the node holds.
func (n *node) stop() {
	n.stopOnce.Do(func() {
		close(n.forever)
		n.closer()
	})
}

// health is the /health JSON: the role, engines and every setting.
type health struct {
	Status                 string   `json:"status"`
	Role                   Role     `json:"role"`
	Addr                   string   `json:"addr"`
	Engine                 Engine   `json:"engine"`
	ClientEngine           Engine   `json:"client_engine"`
	IdleTimeout            string   `json:"idle_timeout"`
	ReadHeaderTimeout      string   `json:"read_header_timeout"`
	IntraIdleConnTimeout   string   `json:"intra_idle_conn_timeout,omitempty"`
	IntraMaxIdlePerHost    int      `json:"intra_max_idle_per_host,omitempty"`
	BackendIdleConnTimeout string   `json:"backend_idle_conn_timeout,omitempty"`
	BackendMaxIdlePerHost  int      `json:"backend_max_idle_per_host,omitempty"`
	Targets                []string `json:"targets,omitempty"`
	Backend                string   `json:"backend,omitempty"`
	Bucket                 string   `json:"bucket,omitempty"`
	Signed                 bool     `json:"signed,omitempty"`
	Leaks                  []Leak   `json:"leaks"`
	PID                    int      `json:"pid"`
}

func (n *node) health() health {
	c := n.cfg
	h := health{
		Status: "ok", Role: c.Role, Addr: n.addr, Engine: c.serverEngine(), ClientEngine: c.clientEngine(),
		IdleTimeout: c.effectiveIdleTimeout().String(), ReadHeaderTimeout: c.ReadHeaderTimeout.String(),
		Leaks: c.Leaks, PID: pid(),
	}
	if h.Leaks == nil {
		h.Leaks = []Leak{}
	}
	if c.Role == RoleProxy {
		h.IntraIdleConnTimeout, h.IntraMaxIdlePerHost, h.Targets = c.IntraIdleConnTimeout.String(), c.IntraMaxIdlePerHost, c.Targets
		if c.has(LeakIntraNoIdleTimeout) {
			h.IntraIdleConnTimeout, h.IntraMaxIdlePerHost = "0s", leakyMaxIdlePerHost
		}
	} else {
		h.BackendIdleConnTimeout, h.BackendMaxIdlePerHost = c.BackendIdleConnTimeout.String(), c.BackendMaxIdlePerHost
		h.Backend, h.Bucket, h.Signed = c.Backend, c.Bucket, c.AccessKey != ""
	}
	return h
}

func (n *node) healthJSON() []byte {
	b, _ := json.Marshal(n.health()) // a struct of plain fields always marshals
	return append(b, '\n')
}

// effectiveIdleTimeout is the server idle timeout after leaks.
func (c Config) effectiveIdleTimeout() time.Duration {
	if c.has(LeakServerNoIdleTimeout) {
		return 0
	}
	return c.IdleTimeout
}

// fixedRoute serves /, /health (any method); ok is false for any other path.
func (n *node) fixedRoute(path string) (response, bool) {
	switch path {
	case "/":
		return textResponse(http.StatusOK, "soak testsut"), true
	case "/health":
		if !n.ready.Load() {
			return textResponse(http.StatusServiceUnavailable, "starting"), true
		}
		return response{status: http.StatusOK, header: map[string]string{"Content-Type": "application/json"}, body: n.healthJSON()}, true
	}
	return response{}, false
}
