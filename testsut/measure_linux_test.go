package testsut

import (
	"os"
	"testing"
	"time"
)

// serverFuncs and clientFuncs are the stack frames that mark a server
// connection's and a pooled client connection's goroutines, per engine.
var (
	serverFuncs = map[Engine][]string{
		EngineNetHTTP:  {"net/http.(*conn).serve"},
		EngineFastHTTP: {"fasthttp.(*workerPool).workerFunc"},
	}
	clientFuncs = map[Engine][]string{
		EngineNetHTTP:  {"net/http.(*persistConn).readLoop", "net/http.(*persistConn).writeLoop"},
		EngineFastHTTP: {"fasthttp.(*HostClient).connsCleaner"},
	}
)

// TestMeasure measures, per engine, the cluster's GET rate for 4 KiB
// objects and goroutines per idle connection on each layer. It is a
// measurement, not a check: run it on purpose, without -race:
//
//	SOAK_MEASURE=1 go test -run TestMeasure -v ./testsut/
func TestMeasure(t *testing.T) {
	if os.Getenv("SOAK_MEASURE") == "" {
		t.Skip("set SOAK_MEASURE=1 to measure rates and goroutines per connection")
	}
	const workers, perWorker, objects = 16, 1000, 100
	for _, engine := range []Engine{EngineNetHTTP, EngineFastHTTP} {
		t.Run(engineName(engine), func(t *testing.T) {
			c := startCluster(t, clusterOpts{engine: engine, long: true})
			gp0, gt0 := goroutines(t, c.proxy), goroutines(t, c.target)
			res, cl := load(t, c, workers, perWorker, objects)
			defer cl.CloseIdleConnections()
			time.Sleep(500 * time.Millisecond) // every pooled connection idle
			l := c.layers(t)
			gp, gt := goroutines(t, c.proxy), goroutines(t, c.target)
			ps := stackCounts(t, c.proxy, append(serverFuncs[engine], clientFuncs[engine]...)...)
			ts := stackCounts(t, c.target, append(serverFuncs[engine], clientFuncs[engine]...)...)
			sum := func(m map[string]int, fs []string) int {
				n := 0
				for _, f := range fs {
					n += m[f]
				}
				return n
			}
			per := func(g, conns int) float64 {
				if conns == 0 {
					return 0
				}
				return float64(g) / float64(conns)
			}
			t.Logf("%s: %d GETs of %d B (%d failed) with %d workers in %v: %.0f req/s",
				engine, res.ok, objectSize, res.failed, workers, res.elapsed.Round(time.Millisecond), float64(res.ok)/res.elapsed.Seconds())
			t.Logf("idle conns: client %d, intra %d (proxy side) / %d (target side), backend %d", l.client, l.intraProxy, l.intraTarget, l.backend)
			t.Logf("proxy goroutines %d -> %d (+%.2f per idle conn); client-layer server goroutines %d = %.2f per conn; intra client goroutines %d = %.2f per conn",
				gp0, gp, per(gp-gp0, l.client+l.intraProxy), sum(ps, serverFuncs[engine]), per(sum(ps, serverFuncs[engine]), l.client),
				sum(ps, clientFuncs[engine]), per(sum(ps, clientFuncs[engine]), l.intraProxy))
			t.Logf("target goroutines %d -> %d (+%.2f per idle conn); intra server goroutines %d = %.2f per conn; backend client goroutines %d = %.2f per conn",
				gt0, gt, per(gt-gt0, l.intraTarget+l.backend), sum(ts, serverFuncs[engine]), per(sum(ts, serverFuncs[engine]), l.intraTarget),
				sum(ts, clientFuncs[engine]), per(sum(ts, clientFuncs[engine]), l.backend))
		})
	}
}
