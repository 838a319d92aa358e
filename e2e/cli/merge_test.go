package cli

import (
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/soak-dev/soak/internal/clitest"
	"github.com/soak-dev/soak/record"
)

// counting is a loopback HTTP server that counts the requests and the
// connections it got: the SUT's own account of the load.
type counting struct {
	*httptest.Server
	requests, conns atomic.Int64
}

func newCounting(t *testing.T) *counting {
	c := &counting{}
	c.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c.requests.Add(1)
		fmt.Fprintln(w, "ok")
	}))
	c.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			c.conns.Add(1)
		}
	}
	c.Start()
	t.Cleanup(c.Close)
	return c
}

// shardScenario attaches to the test process itself, serving at url.
func shardScenario(url string) string {
	return fmt.Sprintf(`name: shardy
interval: 500ms
nodes:
  sut: {attach: {pid: %d, url: %q}}
phases:
  - {name: warm, steady: {rate: 30/s, duration: 1s, connections: 4}}
  - {name: hold, idle: {connections: 7, duration: 500ms}}
  - {name: churn, churn: {rate: 11/s, duration: 1s}}
expect:
  - load: {phase: warm, error_rate: "< 1%%"}
`, os.Getpid(), url)
}

// TestShardMerge: two shards (--shard 1/2, 2/2) as two processes against
// one server, merged, put the same load as one unsharded run against
// another: the same requests and connections per phase, by soak's
// results and by the servers' own counts; the merged run reports.
func TestShardMerge(t *testing.T) {
	t.Parallel()
	whole, sharded := newCounting(t), newCounting(t)
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	wholeSc, shardSc := write("whole.yaml", shardScenario(whole.URL)), write("shard.yaml", shardScenario(sharded.URL))
	runs := []struct{ name, sc, shard string }{{"whole", wholeSc, ""}, {"s1", shardSc, "1/2"}, {"s2", shardSc, "2/2"}}
	var wg sync.WaitGroup
	for _, r := range runs {
		wg.Go(func() {
			args := []string{"run", r.sc, "-q", "-o", filepath.Join(dir, r.name)}
			if r.shard != "" {
				args = append(args, "--shard", r.shard)
			}
			if code, out := clitest.Run(t, args...); code != 0 {
				t.Errorf("soak %v: exit %d\n%s", args, code, out)
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	s1, s2 := clitest.RunDir(t, filepath.Join(dir, "s1")), clitest.RunDir(t, filepath.Join(dir, "s2"))
	merged := filepath.Join(dir, "merged")
	if code, out := clitest.Run(t, "merge", s1, s2, "-o", merged); code != 0 {
		t.Fatalf("soak merge: exit %d\n%s", code, out)
	}
	got, want := clitest.PhaseCounts(t, merged), clitest.PhaseCounts(t, clitest.RunDir(t, filepath.Join(dir, "whole")))
	t.Logf("merged shards: %v; unsharded: %v; servers: sharded %d requests %d connections, unsharded %d requests %d connections",
		got, want, sharded.requests.Load(), sharded.conns.Load(), whole.requests.Load(), whole.conns.Load())
	// The merge adds up exactly what the shards put.
	p1, p2 := clitest.PhaseCounts(t, s1), clitest.PhaseCounts(t, s2)
	for k, v := range got {
		if v != p1[k]+p2[k] {
			t.Errorf("%s: merged %d, shards %d + %d", k, v, p1[k], p2[k])
		}
	}
	if n := int64(got["warm requests"] + got["hold requests"] + got["churn requests"]); n != sharded.requests.Load() {
		t.Errorf("merged results count %d requests, the shards' server got %d", n, sharded.requests.Load())
	}
	// The shards together put the unsharded run's load. A rate-driven
	// phase that fell short of its pacing's plan (vegeta stops at the
	// phase's end, and a loaded machine can leave a hit or two unsent)
	// says nothing about sharding: it is logged, not compared.
	short := false
	for ph, plan := range map[string]uint64{"warm": 30, "churn": 11} { // rate x duration
		if got[ph+" requests"] != plan || want[ph+" requests"] != plan {
			t.Logf("%s: merged %d of %d planned, unsharded %d: not compared", ph, got[ph+" requests"], plan, want[ph+" requests"])
			short = true
		}
	}
	for _, k := range []string{"warm requests", "hold requests", "hold conns", "churn requests", "churn conns"} {
		if strings.HasPrefix(k, "hold") || !short {
			if got[k] != want[k] || got[k] == 0 {
				t.Errorf("%s: merged shards %d, unsharded run %d", k, got[k], want[k])
			}
		}
	}
	if a, b := sharded.requests.Load(), whole.requests.Load(); a != b && !short {
		t.Errorf("requests the servers got: %d from the shards, %d from the unsharded run", a, b)
	}
	if r, err := record.Open(merged); err == nil {
		prs, _ := r.PhaseResults()
		for _, p := range prs {
			if p.Phase == "warm" && (p.VegetaResults == "" || p.LatencyMax <= 0) {
				t.Errorf("merged warm: no results file joined (%q) or no latencies recomputed (max %v ms)", p.VegetaResults, p.LatencyMax)
			}
			// warm's one target got all its requests: its latencies,
			// recomputed from the shards' results, are the phase's.
			if p.Phase == "warm" && (len(p.Targets) != 1 || p.Targets[0].Requests != p.Requests ||
				p.Targets[0].LatencyP50 != p.LatencyP50 || p.Targets[0].LatencyP99 != p.LatencyP99 || p.Targets[0].LatencyMax != p.LatencyMax) {
				t.Errorf("merged warm: targets %+v, phase p50/p99/max %v/%v/%v ms", p.Targets, p.LatencyP50, p.LatencyP99, p.LatencyMax)
			}
		}
		r.Close()
	}
	m := readMeta(t, merged)
	if len(m.Shards) != 2 || m.Shard != nil || m.Shards[0].Index != 1 || m.Shards[1].Index != 2 {
		t.Errorf("merged meta: shard %+v, shards %+v", m.Shard, m.Shards)
	}
	if code, out := clitest.Run(t, "report", merged); code != 0 || !fileExists(filepath.Join(merged, record.VerdictFile)) {
		t.Errorf("soak report of the merged run: exit %d\n%s", code, out)
	}

	// Refused: a shard missing, one given twice, a run that is no shard.
	for _, tc := range []struct {
		dirs []string
		want string
	}{
		{[]string{s1}, "shard 2/2 missing"},
		{[]string{s1, s1}, "shard 1/2 given twice"},
		{[]string{s1, clitest.RunDir(t, filepath.Join(dir, "whole"))}, "meta.json has no shard"},
	} {
		args := append([]string{"merge", "-o", filepath.Join(t.TempDir(), "m")}, tc.dirs...)
		if code, out := clitest.Run(t, args...); code != 2 || !strings.Contains(out, tc.want) {
			t.Errorf("soak %v: exit %d, output %q; want exit 2 with %q", args, code, out, tc.want)
		}
	}
}

func fileExists(p string) bool { _, err := os.Stat(p); return err == nil }
