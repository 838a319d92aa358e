package load

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/soak-dev/soak/record"
	"github.com/soak-dev/soak/scenarios"
)

func runPhase(t *testing.T, p *scenarios.Phase, env Env) record.PhaseResult {
	t.Helper()
	ph, err := New(p)
	if err != nil {
		t.Fatal(err)
	}
	res, err := ph.Run(context.Background(), env)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	return res
}

// phaseRun is a phase and the environment to run it in.
type phaseRun struct {
	p   *scenarios.Phase
	env Env
}

// runAtOnce runs the phases together and returns their results in order:
// for a test whose phases wait (slow or abandoned clients against server
// timeouts) rather than compute, so that its rows do not queue for the
// GOMAXPROCS slots of -test.parallel one after another.
func runAtOnce(t *testing.T, runs []phaseRun) []record.PhaseResult {
	t.Helper()
	results := make([]record.PhaseResult, len(runs))
	errs := make([]error, len(runs))
	var wg sync.WaitGroup
	for i, r := range runs {
		ph, err := New(r.p)
		if err != nil {
			t.Fatal(err)
		}
		wg.Go(func() { results[i], errs[i] = ph.Run(context.Background(), r.env) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatalf("Run: %v", err)
	}
	return results
}

func rate(n int) scenarios.Rate { return scenarios.Rate{Freq: n, Per: time.Second} }

func TestSteadyWritesResultsAndLedger(t *testing.T) {
	t.Parallel()
	srv := newServer(t, 0)
	dir := t.TempDir()
	sink := &memSink{}
	stats := &Stats{}
	p := &scenarios.Phase{Name: "warm", Steady: &scenarios.Steady{
		Requests: scenarios.Requests{Targets: []string{"GET /obj-{{rand 4}}", "PUT {{.URL}}/put-{{seq}}"}, Body: 1024, Connections: 4},
		Rate:     rate(100), Duration: scenarios.Duration(time.Second)}}
	env := Env{Phase: "warm#2", BaseURL: srv.URL + "/", Data: map[string]string{"URL": srv.URL}, Sink: sink, RunDir: dir, Stats: stats}
	res := runPhase(t, p, env)

	if res.Requests < 50 || res.Success != 1 {
		t.Fatalf("requests %d success %v errors %v", res.Requests, res.Success, res.Errors)
	}
	if got, want := srv.hits.Load(), int64(res.Requests); got != want {
		t.Errorf("server saw %d requests, result says %d", got, want)
	}
	if got, want := res.StatusCodes["200"], int(res.Requests); got != want {
		t.Errorf("200s = %d, want %d", got, want)
	}
	srv.mu.Lock()
	for path := range srv.paths {
		if !strings.HasPrefix(path, "/obj-") && !strings.HasPrefix(path, "/put-") {
			t.Errorf("unexpected path %q", path)
		}
	}
	srv.mu.Unlock()
	if res.Extra["bytes_out"] == 0 {
		t.Errorf("no body sent for PUT: %v", res.Extra)
	}
	if res.ConnsOpened == 0 || res.ConnsOpened > 4 {
		t.Errorf("conns opened %d, want 1..4", res.ConnsOpened)
	}
	conns := sink.all()
	if len(conns) != res.ConnsOpened {
		t.Errorf("ledger has %d conns, want %d", len(conns), res.ConnsOpened)
	}
	var reqs int64
	for _, c := range conns {
		// Go's transport may dial a spare connection that a freed one makes
		// unneeded; it is a real connection with no request and no bytes.
		if c.Witness != record.WitnessClient || c.Phase != "warm#2" || c.Side != "client" || c.Closed.IsZero() || (c.Requests > 0 && c.BytesIn == 0) {
			t.Errorf("bad ledger record %+v", c)
		}
		reqs += c.Requests
	}
	if reqs != int64(res.Requests) {
		t.Errorf("ledger counts %d requests, want %d", reqs, res.Requests)
	}
	if got := stats.OpenConns.Load(); got != 0 {
		t.Errorf("open conns after phase = %d", got)
	}
	if got := stats.Requests.Load(); got != int64(res.Requests) {
		t.Errorf("stats requests %d", got)
	}

	// vegeta's own decoder reads the results file.
	f, err := os.Open(filepath.Join(dir, res.VegetaResults))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	dec := vegeta.NewDecoder(f)
	n := 0
	for {
		var r vegeta.Result
		if err := dec.Decode(&r); err == io.EOF {
			break
		} else if err != nil {
			t.Fatalf("decode result %d: %v", n, err)
		}
		if r.Attack != "warm#2" || r.Code != 200 {
			t.Fatalf("result %d: %+v", n, r)
		}
		n++
	}
	if n != int(res.Requests) {
		t.Errorf("results file holds %d results, want %d", n, res.Requests)
	}
	var saved record.PhaseResult
	b, err := os.ReadFile(filepath.Join(dir, "load", "warm#2.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &saved); err != nil || saved.Requests != res.Requests || saved.Kind != "steady" {
		t.Errorf("saved result %+v, err %v", saved, err)
	}
}

func TestChurnOpensAConnectionPerRequest(t *testing.T) {
	t.Parallel()
	srv := newServer(t, 0)
	sink := &memSink{}
	p := &scenarios.Phase{Name: "churn", Churn: &scenarios.Churn{Rate: rate(50), Duration: scenarios.Duration(500 * time.Millisecond)}}
	res := runPhase(t, p, Env{Phase: "churn", BaseURL: srv.URL, Sink: sink, RunDir: t.TempDir()})
	if res.Requests == 0 || res.Success != 1 {
		t.Fatalf("requests %d success %v", res.Requests, res.Success)
	}
	if got, want := res.ConnsOpened, int(res.Requests); got != want {
		t.Errorf("opened %d conns for %d requests", got, want)
	}
	for _, c := range sink.all() {
		if c.Requests != 1 {
			t.Errorf("churn conn carried %d requests", c.Requests)
		}
	}
}

func TestRateFaultsAreCountedNotReturned(t *testing.T) {
	t.Parallel()
	eachFaultServer(t, func(t *testing.T, name, url, kind string) {
		p := &scenarios.Phase{Name: name, Steady: &scenarios.Steady{
			Requests: scenarios.Requests{Timeout: scenarios.Duration(300 * time.Millisecond), Connections: 4},
			Rate:     rate(20), Duration: scenarios.Duration(300 * time.Millisecond)}}
		start := time.Now()
		res := runPhase(t, p, Env{Phase: name, BaseURL: url, Sink: &memSink{}, RunDir: t.TempDir()})
		if res.Errors[kind] == 0 {
			t.Errorf("errors %v, want some %s", res.Errors, kind)
		}
		if res.Success != 0 {
			t.Errorf("success %v", res.Success)
		}
		// Not a timing assertion: only that the phase ended by itself.
		t.Logf("ended after %v", time.Since(start))
	})
}

func TestRateStopsOnCancel(t *testing.T) {
	t.Parallel()
	url := stallServer(t)
	p := &scenarios.Phase{Name: "long", Steady: &scenarios.Steady{Rate: rate(20), Duration: scenarios.Duration(time.Hour)}}
	ph, _ := New(p)
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(300*time.Millisecond, cancel)
	dir := t.TempDir()
	res, err := ph.Run(ctx, Env{Phase: "long", BaseURL: url, RunDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if res.Extra["interrupted"] != 1 || res.Requests == 0 {
		t.Errorf("result %+v", res)
	}
	// Planned until the stop (20/s over at least 300 ms), not the hour.
	if ran := res.End.Sub(res.Start).Seconds(); res.PlannedRequests < 6 || res.PlannedRequests > 20*ran+0.5 {
		t.Errorf("planned %v requests over %.2fs at 20/s", res.PlannedRequests, ran)
	}
	if _, err := os.Stat(filepath.Join(dir, "load", "long.json")); err != nil {
		t.Error(err)
	}
}

func TestBurstAndRamp(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		p    *scenarios.Phase
		want func(uint64) bool
	}{
		{"burst", &scenarios.Phase{Burst: &scenarios.Burst{Count: 30, Bursts: 3, Pause: scenarios.Duration(100 * time.Millisecond)}},
			func(n uint64) bool { return n == 90 }},
		{"ramp", &scenarios.Phase{Ramp: &scenarios.Ramp{From: rate(10), To: rate(100), Duration: scenarios.Duration(time.Second)}},
			func(n uint64) bool { return n > 0 && n <= 60 }},
		{"steps", &scenarios.Phase{Ramp: &scenarios.Ramp{From: rate(0), To: rate(100), Steps: 2, Duration: scenarios.Duration(time.Second)}},
			func(n uint64) bool { return n > 0 && n <= 55 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := newServer(t, 0)
			tt.p.Name = tt.name
			res := runPhase(t, tt.p, Env{Phase: tt.name, BaseURL: srv.URL, RunDir: t.TempDir()})
			if !tt.want(res.Requests) || res.Success != 1 {
				t.Errorf("%s: %d requests, success %v", tt.name, res.Requests, res.Success)
			}
		})
	}
}
