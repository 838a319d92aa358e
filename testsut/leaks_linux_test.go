package testsut

import (
	"testing"
	"time"
)

// quiet is the quiet window after load: longer than every (1 s) idle
// timeout, with slack for fasthttp's cleaner, which runs on its own period.
const quiet = 3500 * time.Millisecond

// drainLimit is how long past the quiet window a test waits for the layers
// that must drain; only a busy machine needs it.
const drainLimit = 15 * time.Second

// all: every layer drained.
func all(l layers) bool { return l == (layers{}) }

// but: every layer but the named one (client, intra, backend) drained.
func but(layer string) func(layers) bool {
	return func(l layers) bool {
		switch layer {
		case "client":
			l.client = 0
		case "intra":
			l.intraProxy, l.intraTarget = 0, 0
		case "backend":
			l.backend, l.closeWaitTarget = 0, 0
		}
		return l == (layers{})
	}
}

// TestLeaks runs the cluster under a bounded load, waits a quiet window
// longer than every idle timeout, and reads /proc: the healthy build is back
// to zero connections on every layer, each leak leaves its own mark.
func TestLeaks(t *testing.T) {
	// Ten GETs per worker reuse each pooled connection, which is all the
	// idle-timeout rows need; the per-request rows scale their thresholds
	// with workers*perWorker (a healthy build stays at <= workers).
	const workers, perWorker, objects = 8, 10, 8
	for _, engine := range []Engine{EngineNetHTTP, EngineFastHTTP} {
		for _, tc := range []struct {
			name        string
			proxyLeaks  []Leak
			targetLeaks []Leak
			// targetIdle overrides the target's server idle timeout, so
			// that the proxy, not the target, is the one to close intra
			// connections.
			targetIdle time.Duration
			// drained is what must reach zero; the test waits for it (up to
			// drainLimit) so a slow machine cannot fail a healthy build.
			drained func(l layers) bool
			check   func(t *testing.T, before, after layers, gBefore, gAfter int)
		}{
			{name: "healthy", drained: all, check: func(t *testing.T, _, l layers, gb, ga int) {
				if l != (layers{}) {
					t.Errorf("healthy build left connections after the quiet window: %+v", l)
				}
			}},
			{name: "server-no-idle-timeout", proxyLeaks: []Leak{LeakServerNoIdleTimeout}, drained: but("client"), check: func(t *testing.T, _, l layers, _, _ int) {
				if l.client == 0 {
					t.Errorf("client layer: 0 established after the quiet window, want > 0 (server never reclaims): %+v", l)
				}
				if l.intraProxy != 0 || l.backend != 0 {
					t.Errorf("other layers should drain: %+v", l)
				}
			}},
			{name: "intra-no-idle-timeout", proxyLeaks: []Leak{LeakIntraNoIdleTimeout}, targetIdle: time.Minute, drained: but("intra"), check: func(t *testing.T, _, l layers, _, _ int) {
				if l.intraProxy == 0 || l.intraTarget == 0 {
					t.Errorf("intra layer: want > 0 established on both ends, got %+v", l)
				}
				if l.client != 0 || l.backend != 0 {
					t.Errorf("other layers should drain: %+v", l)
				}
			}},
			{name: "backend-body-not-closed", targetLeaks: []Leak{LeakBackendBodyNotClosed}, drained: but("backend"), check: func(t *testing.T, _, l layers, _, _ int) {
				if l.backend < workers {
					t.Errorf("backend layer: %d connections after the quiet window, want >= %d (one per unclosed body): %+v", l.backend, workers, l)
				}
				if l.client != 0 || l.intraProxy != 0 {
					t.Errorf("other layers should drain: %+v", l)
				}
			}},
			{name: "backend-transport-per-request", targetLeaks: []Leak{LeakBackendTransportPerRequest}, drained: but("backend"), check: func(t *testing.T, _, l layers, gb, ga int) {
				if l.backend < workers*perWorker/2 {
					t.Errorf("backend layer: %d connections after the quiet window, want >= %d (one per request): %+v", l.backend, workers*perWorker/2, l)
				}
			}},
			{name: "goroutine-per-request", targetLeaks: []Leak{LeakGoroutinePerRequest}, drained: all, check: func(t *testing.T, _, l layers, gb, ga int) {
				if l != (layers{}) {
					t.Errorf("goroutine-per-request must not leak connections: %+v", l)
				}
				if ga-gb < workers*perWorker {
					t.Errorf("target goroutines grew by %d (%d -> %d), want >= %d (one per request)", ga-gb, gb, ga, workers*perWorker)
				}
			}},
			{name: "close-wait", targetLeaks: []Leak{LeakCloseWait}, targetIdle: time.Minute, drained: func(l layers) bool { return l.client == 0 && l.intraProxy == 0 && l.backend == 0 }, check: func(t *testing.T, _, l layers, _, _ int) {
				if l.closeWaitTarget == 0 {
					t.Errorf("target: no CLOSE_WAIT socket after the proxy closed its idle intra connections: %+v", l)
				}
			}},
		} {
			t.Run(string(engineName(engine))+"/"+tc.name, func(t *testing.T) {
				t.Parallel()
				c := startCluster(t, clusterOpts{engine: engine, proxyLeaks: tc.proxyLeaks, targetLeaks: tc.targetLeaks, targetIdleTimeout: tc.targetIdle})
				before := c.layers(t)
				gBefore := goroutines(t, c.target)
				res, cl := load(t, c, workers, perWorker, objects)
				if res.failed > 0 || res.ok != workers*perWorker {
					t.Fatalf("load: %d ok, %d failed\nproxy:\n%s\ntarget:\n%s", res.ok, res.failed, c.proxy.log, c.target.log)
				}
				during := c.layers(t)
				time.Sleep(quiet)
				after := c.layers(t)
				for deadline := time.Now().Add(drainLimit); !tc.drained(after) && time.Now().Before(deadline); {
					time.Sleep(250 * time.Millisecond)
					after = c.layers(t)
				}
				gAfter := goroutines(t, c.target)
				t.Logf("%d GETs in %v; before %+v, right after load %+v, after %v quiet %+v; target goroutines %d -> %d",
					res.ok, res.elapsed.Round(time.Millisecond), before, during, quiet, after, gBefore, gAfter)
				tc.check(t, before, after, gBefore, gAfter)
				cl.CloseIdleConnections()
			})
		}
	}
}
