package load

import (
	"encoding/binary"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/soak-dev/soak/record"
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
	dir := t.TempDir()
	res := runPhase(t, p, Env{Phase: "warm", BaseURL: srv.URL, RunDir: dir, Stats: stats})
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
	checkTargetIndexes(t, dir, res)
}

// checkTargetIndexes: the target indexes file places every result of the
// results file under the target the phase result counted it, as
// `soak merge` reads them.
func checkTargetIndexes(t *testing.T, dir string, res record.PhaseResult) {
	t.Helper()
	gob, err := os.Open(filepath.Join(dir, res.VegetaResults))
	if err != nil {
		t.Fatal(err)
	}
	defer gob.Close()
	idx, err := os.ReadFile(filepath.Join(dir, res.TargetIndexes))
	if err != nil || res.TargetIndexes != record.PhaseFile(res.Phase, record.TargetIndexesSuffix) {
		t.Fatalf("target indexes %q: %v", res.TargetIndexes, err)
	}
	dec := vegeta.NewDecoder(gob)
	counts := make([]uint64, len(res.Targets))
	for {
		var r vegeta.Result
		if err := dec.Decode(&r); err != nil {
			break
		}
		ti, n := binary.Uvarint(idx)
		if n <= 0 || ti == 0 || ti > uint64(len(res.Targets)) {
			t.Fatalf("result %s %s: target index %d (%d bytes)", r.Method, r.URL, ti, n)
		}
		idx = idx[n:]
		tgt := res.Targets[ti-1].Target
		if m, path, _ := strings.Cut(strings.TrimSpace(strings.ReplaceAll(tgt, "{{seq}}", "")), " "); r.Method != m || !strings.Contains(r.URL, path) {
			t.Errorf("result %s %s placed under %q", r.Method, r.URL, tgt)
		}
		counts[ti-1]++
	}
	if len(idx) != 0 {
		t.Errorf("%d bytes of target indexes past the results", len(idx))
	}
	for i, tr := range res.Targets {
		if counts[i] != tr.Requests {
			t.Errorf("%s: %d results indexed, %d counted", tr.Target, counts[i], tr.Requests)
		}
	}
}
