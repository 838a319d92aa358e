package runner

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/soak-dev/soak/fakebackend"
	"github.com/soak-dev/soak/internal/promtest"
	"github.com/soak-dev/soak/internal/testkit"
	"github.com/soak-dev/soak/load"
	"github.com/soak-dev/soak/probes"
	"github.com/soak-dev/soak/record"
	"github.com/soak-dev/soak/scenarios"
)

// promStep is the query step of these tests' remote node (and its scrape
// interval in the fake); the node is read every 3 steps.
const promStep = 100 * time.Millisecond

// untilPhase runs until done says so, ctx ends, or 30 s pass: the test
// decides when the load ends by what the fake Prometheus has seen, never
// by the clock.
type untilPhase struct{ done func() bool }

func (p untilPhase) Run(ctx context.Context, env load.Env) (record.PhaseResult, error) {
	res := record.PhaseResult{Phase: env.Phase, Kind: "fake", Start: time.Now()}
	cap := time.After(30 * time.Second)
	t := time.NewTicker(10 * time.Millisecond)
	defer t.Stop()
	for p.done == nil || !p.done() {
		select {
		case <-ctx.Done():
			res.End = time.Now()
			return res, nil
		case <-cap:
			res.End = time.Now()
			return res, nil
		case <-t.C:
		}
	}
	res.End = time.Now()
	return res, nil
}

// promScenario is a run whose only node is read from the fake Prometheus
// at url, with a max check on its goroutines (aborting when abort).
func promScenario(url string, abort bool) string {
	return fmt.Sprintf(`name: promlive
interval: 100ms
nodes:
  far:
    remote: {prometheus: %q, match: '%s', step: 100ms, read_every: 300ms, url: "http://127.0.0.1:1"}
phases:
  - {name: hold, quiet: {duration: 30s}}
expect:
  - max: {series: goroutines, node: far, value: 50}
    abort_on_fail: %t
`, url, promtest.Match, abort)
}

func runProm(ctx context.Context, t testing.TB, text, out string, phase load.Phase, progress io.Writer) Result {
	t.Helper()
	mode := "quiet"
	if progress != nil {
		mode = "json"
	}
	sc, err := scenarios.ParseScenario("promlive.yaml", []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	skip := make(chan struct{})
	close(skip)
	res, err := Run(ctx, Options{Scenario: sc, ScenarioYAML: []byte(text), ScenarioPath: "promlive.yaml",
		OutDir: out, ProgressMode: mode, Progress: progress, SkipReport: skip,
		newPhase:   func(*scenarios.Phase) (load.Phase, error) { return phase, nil },
		newSampler: func(probes.Target, ...probes.Option) (sampler, error) { return nil, fmt.Errorf("no local node here") },
		newBackend: func(string, *scenarios.Backend, record.Sink) (fakebackend.Backend, error) {
			return nil, fmt.Errorf("no backend here")
		}})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// farSteps reads the remote node's samples back and checks they are the
// steps of one grid, each once and none missing between the first and
// the last; it returns them.
func farSteps(t *testing.T, run *record.Run) []time.Time {
	t.Helper()
	var steps []time.Time
	err := run.EachSample(func(s record.Sample) error {
		if s.Node == "far" {
			steps = append(steps, s.Time)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i < len(steps); i++ {
		if d := steps[i].Sub(steps[i-1]); d != promStep {
			t.Errorf("samples %d and %d: %s then %s (%s apart): want every %s step once, in order",
				i-1, i, steps[i-1].Format("15:04:05.000"), steps[i].Format("15:04:05.000"), d, promStep)
		}
	}
	return steps
}

// TestPromNodeReadLive: a node read from Prometheus is read while the
// run goes on, every step once across reads (none twice, none skipped
// at a window's border), a failed read asked again by the next, and its
// samples shown and judged live: the progress line (--json) shows its
// figures, a max check with abort_on_fail stops the run.
// A Prometheus that stays down ends in lost data, exit 3, never a pass.
func TestPromNodeReadLive(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		// fail says whether the nth query_range fails.
		fail  func(n int) bool
		until int // the load ends once the fake answered this many query_ranges (0: at the abort)
		abort bool
		// wantExit, wantEnded; wantCause is in the run's cause.
		wantExit  int
		wantEnded string
		wantCause string
	}{
		{name: "steady", until: 4, wantExit: ExitPass, wantEnded: record.EndedCompleted},
		{name: "recovers", fail: func(n int) bool { return n == 2 || n == 3 }, until: 5, wantExit: ExitPass, wantEnded: record.EndedCompleted},
		{name: "down", fail: func(n int) bool { return n >= 2 }, until: 4, wantExit: ExitEnvironment, wantEnded: record.EndedCompleted,
			wantCause: "lost data: samples of remote node far"},
		{name: "aborts", abort: true, wantExit: ExitCheckFailed, wantEnded: record.EndedAborted,
			wantCause: "max/goroutines/far failed (abort_on_fail): goroutines on node far reached 60"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := promtest.New(t)
			srv.FailRange = tc.fail
			if tc.abort {
				// 60 goroutines from a second on: the check fails on a
				// sample read during the run, or not before it ends.
				over := time.Now().Add(time.Second)
				srv.Goroutines = func(at time.Time) (float64, bool) {
					if at.Before(over) {
						return 10, true
					}
					return 60, !at.After(time.Now())
				}
			}
			// The live display (--json) must show the node's figures: the
			// steady run goes on until it did.
			progress := &testkit.SyncBuffer{}
			phase := untilPhase{}
			if tc.until > 0 {
				phase.done = func() bool {
					return srv.Ranges() >= tc.until && (tc.name != "steady" || strings.Contains(progress.String(), `"goroutines":{"far":10}`))
				}
			}
			res := runProm(context.Background(), t, promScenario(srv.URL, tc.abort), t.TempDir(), phase, progress)
			if tc.name == "steady" && !strings.Contains(progress.String(), `"goroutines":{"far":10}`) {
				t.Errorf("the live display never showed the remote node's goroutines:\n%s", progress.String())
			}
			if res.ExitCode != tc.wantExit || res.Verdict.Status == "" || !strings.Contains(res.Cause, tc.wantCause) {
				t.Errorf("exit %d, cause %q; want exit %d, cause with %q", res.ExitCode, res.Cause, tc.wantExit, tc.wantCause)
			}
			run, err := record.Open(res.Dir)
			if err != nil {
				t.Fatal(err)
			}
			if run.Meta.Ended != tc.wantEnded {
				t.Errorf("ended %s, want %s", run.Meta.Ended, tc.wantEnded)
			}
			steps := farSteps(t, run)
			// Every step Prometheus answered was asked once and written
			// once; a failed window was asked again from its start.
			answered, failedAt := 0, map[time.Time]bool{}
			var next time.Time
			for i, w := range srv.Windows() {
				if !next.IsZero() && !w.Start.Equal(next) {
					t.Errorf("window %d starts at %s, want %s: the step after the last read", i, w.Start.Format("15:04:05.000"), next.Format("15:04:05.000"))
				}
				if w.Failed {
					failedAt[w.Start] = true
					continue
				}
				answered += len(w.Steps)
				next = w.End.Add(promStep)
			}
			rm := run.Meta.Nodes["far"].Remote
			if rm == nil || rm.Samples != len(steps) || answered != len(steps) {
				t.Fatalf("meta remote %+v; %d samples written, %d steps answered: want one count", rm, len(steps), answered)
			}
			if tc.wantExit == ExitEnvironment {
				if rm.Error == "" || len(run.Meta.Lost) == 0 || len(steps) == 0 {
					t.Errorf("down: meta remote error %q, lost %q, %d samples: want the error, the loss and the samples read before", rm.Error, run.Meta.Lost, len(steps))
				}
				return
			}
			if rm.Error != "" {
				t.Errorf("meta remote error %q on a run that lost nothing", rm.Error)
			}
			// The samples cover the load, from a step before it (the
			// level before load: drain's baseline) to its last step.
			ph := run.Meta.Phases[len(run.Meta.Phases)-1]
			if len(steps) == 0 || !steps[0].Before(run.Meta.Phases[0].Start) || steps[len(steps)-1].Before(ph.End.Add(-promStep)) {
				t.Errorf("%d samples from %v; want them over the load, %s to %s", len(steps), steps, run.Meta.Phases[0].Start, ph.End)
			}
			if tc.name == "recovers" {
				if len(failedAt) == 0 {
					t.Errorf("no read failed")
				}
				ev, err := run.Events()
				if err != nil {
					t.Fatal(err)
				}
				warned := false
				for _, e := range ev {
					warned = warned || e.Kind == record.EventWarning && strings.Contains(e.Message, "asked again")
				}
				if !warned {
					t.Errorf("no warning of the failed read in events.jsonl")
				}
			}
		})
	}
}

// TestPromNodeKilled: soak killed with SIGKILL mid-run (no teardown, no
// last read) keeps the remote node's samples read until then, each step
// once. The run is this test binary, re-executed (TestMain).
func TestPromNodeKilled(t *testing.T) {
	t.Parallel()
	srv := promtest.New(t)
	out := t.TempDir()
	bin, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin)
	cmd.Env = append(os.Environ(), "RUNNER_TEST_PROM_RUN="+srv.URL+" "+out)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waited := false
	defer func() {
		if !waited {
			cmd.Process.Kill()
			cmd.Wait()
		}
	}()
	// Kill it once 10 samples of the remote node are in the run
	// directory: they are there during the run, or never.
	seen := 0
	for deadline := time.Now().Add(30 * time.Second); seen < 10; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d samples of the remote node in the run directory after 30 s, want 10", seen)
		}
		if dirs, _ := filepath.Glob(filepath.Join(out, "*_promlive")); len(dirs) == 1 {
			if run, err := record.OpenTolerant(dirs[0]); err == nil {
				seen = 0
				_ = run.EachSample(func(s record.Sample) error {
					if s.Node == "far" {
						seen++
					}
					return nil
				})
			}
		}
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	waited = true
	dirs, _ := filepath.Glob(filepath.Join(out, "*_promlive"))
	if len(dirs) != 1 {
		t.Fatalf("run directories %v", dirs)
	}
	run, err := record.OpenTolerant(dirs[0])
	if err != nil {
		t.Fatal(err)
	}
	if run.Meta.Ended != record.EndedKilled {
		t.Fatalf("the run ended (%s) before it was killed", run.Meta.Ended)
	}
	// What was seen before the kill stays (a read in flight at the kill
	// may have written more), each step once.
	if steps := farSteps(t, run); len(steps) < seen {
		t.Errorf("%d samples after the kill, want the %d seen before it", len(steps), seen)
	}
}

// promRun is the run TestPromNodeKilled kills: "URL OUT" in
// RUNNER_TEST_PROM_RUN; the load lasts until the kill (30 s at most).
func promRun(arg string) {
	url, out, _ := strings.Cut(arg, " ")
	runProm(context.Background(), exitOnFatal{}, promScenario(url, false), out, untilPhase{}, nil)
	os.Exit(0)
}

// exitOnFatal is the testing.TB of promRun, which runs outside a test.
type exitOnFatal struct{ testing.TB }

func (exitOnFatal) Helper() {}
func (exitOnFatal) Fatal(args ...any) {
	fmt.Fprintln(os.Stderr, args...)
	os.Exit(2)
}

// TestPromReadEvery: the default read_every is 4 steps, within 15 s..2 m.
func TestPromReadEvery(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ step, want time.Duration }{
		{100 * time.Millisecond, 15 * time.Second},
		{time.Second, 15 * time.Second},
		{5 * time.Second, 20 * time.Second},
		{15 * time.Second, time.Minute},
		{time.Minute, 2 * time.Minute},
		{5 * time.Minute, 2 * time.Minute},
	} {
		if got := promReadEvery(tc.step); got != tc.want {
			t.Errorf("step %s: read every %s, want %s", tc.step, got, tc.want)
		}
	}
}
