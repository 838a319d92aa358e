package load

import (
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/soak-dev/soak/scenarios"
)

// Each request is counted under the target it was made from, even when
// two targets render the same request or a target renders a new URL each
// time: the per-target counts match what the server saw per path.
func TestPerTargetResults(t *testing.T) {
	t.Parallel()
	var a, b, c atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/a":
			a.Add(1)
		case r.Method == http.MethodPut && strings.HasPrefix(r.URL.Path, "/b/"):
			b.Add(1)
			http.Error(w, "no", http.StatusInternalServerError)
		case r.URL.Path == "/c":
			c.Add(1)
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	p := &scenarios.Phase{Name: "warm", Steady: &scenarios.Steady{
		Requests: scenarios.Requests{Targets: []string{"GET /a", " PUT /b/{{seq}}", "GET /a", "GET /c"}, Connections: 4,
			ExpectStatus: []int{200, 404}},
		Rate: rate(200), Duration: scenarios.Duration(500 * time.Millisecond)}}
	stats := &Stats{}
	seen := make(chan *Live, 1)
	go func() { // the phase's live totals, caught while it runs
		for l := stats.Live(); ; l = stats.Live() {
			if l != nil {
				seen <- l
				return
			}
			time.Sleep(time.Millisecond)
		}
	}()
	res := runPhase(t, p, Env{Phase: "warm", BaseURL: srv.URL, RunDir: t.TempDir(), Stats: stats})
	live := <-seen
	if stats.Live() != nil {
		t.Error("the live totals are still published after the phase")
	}
	snap := live.Snapshot(time.Now())
	if snap.Planned < 99 || snap.Planned > 101 || snap.Kind != "steady" {
		t.Errorf("live: planned %v, kind %q; want 100 (200/s for 500ms), steady", snap.Planned, snap.Kind)
	}
	for i, lt := range snap.Targets {
		tr := res.Targets[i]
		if lt.Target != tr.Target || lt.Sent != int64(tr.Requests) || lt.Done != int64(tr.Requests) ||
			lt.Failed != int64(tr.Requests-tr.OK) || lt.Latency.Count() != tr.Requests || math.Abs(float64(lt.Max)-tr.LatencyMax*1e6) > 1 {
			t.Errorf("live %s: sent %d done %d failed %d latencies %d max %v; result %+v", lt.Target, lt.Sent, lt.Done, lt.Failed,
				lt.Latency.Count(), lt.Max, tr)
		}
	}

	if got, want := len(res.Targets), 3; got != want {
		t.Fatalf("%d targets, want %d: %+v", got, want, res.Targets)
	}
	var sum uint64
	for _, tr := range res.Targets {
		sum += tr.Requests
	}
	if sum != res.Requests || res.Requests < 20 {
		t.Errorf("targets' requests add up to %d, phase %d", sum, res.Requests)
	}
	for _, tc := range []struct {
		target   string
		server   int64
		ok       bool
		code     string
		examples int
	}{
		{"GET /a", a.Load(), true, "200", 0},
		{"PUT /b/{{seq}}", b.Load(), false, "500", 1},
		{"GET /c", c.Load(), true, "404", 0},
	} {
		tr, found := res.Target(tc.target)
		if !found {
			t.Errorf("no result for %q in %+v", tc.target, res.Targets)
			continue
		}
		wantOK := uint64(0)
		if tc.ok {
			wantOK = tr.Requests
		}
		if tr.Requests != uint64(tc.server) || tr.OK != wantOK || tr.StatusCodes[tc.code] != int(tc.server) || len(tr.Examples) != tc.examples {
			t.Errorf("%s: %+v; server saw %d", tc.target, tr, tc.server)
		}
		if tr.LatencyMax <= 0 || tr.LatencyP50 > tr.LatencyMax {
			t.Errorf("%s: latencies p50 %v max %v", tc.target, tr.LatencyP50, tr.LatencyMax)
		}
	}
	if got, want := res.Targets[0].Requests, 2*res.Targets[2].Requests; got < want-2 || got > want+2 {
		t.Errorf("GET /a (listed twice) got %d requests, GET /c %d", got, res.Targets[2].Requests)
	}
}
