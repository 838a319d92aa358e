package cli

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/soak-dev/soak/internal/clitest"
	"github.com/soak-dev/soak/record"
)

// abortScenario is mini.yaml with a 60 s load phase, edited by edit.
func abortScenario(t *testing.T, edit func(string) string) string {
	t.Helper()
	b, err := os.ReadFile("testdata/mini.yaml")
	if err != nil {
		t.Fatal(err)
	}
	s := strings.Replace(string(b), "steady: {rate: 50/s, duration: 3s,", "steady: {rate: 50/s, duration: 60s,", 1)
	path := filepath.Join(t.TempDir(), "abort.yaml")
	if err := os.WriteFile(path, []byte(edit(s)), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// abortEvent returns the run's abort event.
func abortEvent(t *testing.T, dir string) record.Event {
	t.Helper()
	f, err := os.Open(filepath.Join(dir, record.EventsFile))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var e record.Event
		if json.Unmarshal(sc.Bytes(), &e) == nil && e.Kind == record.EventAbort {
			return e
		}
	}
	t.Fatalf("no abort event in %s", dir)
	return record.Event{}
}

// runAborted runs the scenario sc, which must stop early: exit 1, meta.json
// ended "aborted". It returns the run directory, its meta.json and soak's output.
func runAborted(t *testing.T, sc string) (string, record.Meta, string) {
	t.Helper()
	out := t.TempDir()
	code, output := clitest.Run(t, "run", sc, "--out", out, "--quiet")
	dir := clitest.RunDir(t, out)
	m := readMeta(t, dir)
	if code != 1 || m.Ended != record.EndedAborted {
		t.Fatalf("exit %d, ended %q; want 1, aborted\n%s", code, m.Ended, output)
	}
	return dir, m, output
}

// abort_on_fail on a leaking build (a goroutine per request): the run stops
// at the first sample over the limit, not after its 60 s load, with the
// verdict and report built, and exits 1. Counted, not timed: no sample of
// the node is taken after the one that crossed but the final one.
func TestAbortOnFail(t *testing.T) {
	t.Parallel() // mostly waiting on short runs of their own
	sc := abortScenario(t, func(s string) string {
		s = strings.Replace(s, `"--backend-idle-conn-timeout", "1s"]`, `"--backend-idle-conn-timeout", "1s", "--leak", "goroutine-per-request"]`, 1)
		return s + "expect:\n  - max: {series: goroutines, node: target, value: 80}\n    abort_on_fail: true\n"
	})
	dir, m, output := runAborted(t, sc)
	for _, want := range []string{"max/goroutines/target failed (abort_on_fail): goroutines on node target reached", "verdict: fail (exit 1)", "report.html"} {
		if !strings.Contains(output, want) {
			t.Errorf("output lacks %q:\n%s", want, output)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, record.ReportHTML)); err != nil {
		t.Errorf("no report after an abort: %v", err)
	}
	seen, err := time.Parse(time.RFC3339Nano, abortEvent(t, dir).Data["seen"])
	if err != nil {
		t.Fatal(err)
	}
	run, err := record.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	var over, after int
	var planned time.Duration
	run.EachSample(func(s record.Sample) error {
		if s.Node != "target" || s.Goroutines == nil {
			return nil
		}
		if s.Time.Before(seen) && s.Goroutines.Total > 80 {
			over++ // crossed earlier, yet not stopped
		}
		if s.Time.After(seen) {
			after++
		}
		return nil
	})
	for _, p := range m.Phases {
		if p.Name == "load" {
			planned = time.Duration(p.PlannedMs) * time.Millisecond
			if p.End.Sub(p.Start) >= planned {
				t.Errorf("load phase ran its full %s", planned)
			}
		}
	}
	if over != 0 || after > 2 {
		t.Errorf("%d samples over the limit before the abort, %d samples after it; want 0 and at most 2 (one in flight, the final one)", over, after)
	}
	assertNoOrphans(t, m)
}

// --fail-fast: a load that fails in full (404) is stopped by the default
// load guard once one window is broken, not after 60 s; a healthy run with
// --fail-fast completes and passes the guard.
func TestFailFast(t *testing.T) {
	t.Parallel() // mostly waiting on short runs of their own
	sc404 := abortScenario(t, func(s string) string {
		return strings.Replace(s, `targets: ["GET /v1/objects/soak/syn/k-{{rand 50}}"]`, `targets: ["GET /v1/objects/nobucket/k"]`, 1)
	})
	out := t.TempDir()
	code, output := clitest.Run(t, "run", sc404, "--out", out, "--quiet", "--fail-fast")
	m := readMeta(t, clitest.RunDir(t, out))
	if code != 1 || m.Ended != record.EndedAborted || !strings.Contains(output, "load/load failed (abort_on_fail): phase load: error_rate 100.0% over the last 5s") {
		t.Errorf("exit %d, ended %q; want 1, aborted by load/load\n%s", code, m.Ended, output)
	}
	out = t.TempDir()
	code, output = clitest.Run(t, "run", "testdata/mini.yaml", "--out", out, "--quiet", "--fail-fast")
	m = readMeta(t, clitest.RunDir(t, out))
	if code != 0 || m.Ended != record.EndedCompleted || !strings.Contains(output, "PASS          load/load") {
		t.Errorf("healthy with --fail-fast: exit %d, ended %q; want 0, completed, load guard passed\n%s", code, m.Ended, output)
	}
}

// abort_on_fail on a latency threshold of one target: the backend answers
// after 300 ms, so the objects target's p99 breaks its 100 ms limit in the
// first window (5 s) and the 60 s load stops there, with the report built.
// The fast target (/health) shares the phase: the window is the target's.
func TestAbortOnLatency(t *testing.T) {
	t.Parallel() // mostly waiting on a short run of its own
	const objects = "GET /v1/objects/soak/syn/k-{{rand 50}}"
	sc := abortScenario(t, func(s string) string {
		s = strings.Replace(s, `targets: ["`+objects+`"]`, `targets: ["GET /health", "`+objects+`"]`, 1)
		s = strings.Replace(s, `objects: {synthetic: [{prefix: "syn/", size: 1KiB}]}`,
			`objects: {synthetic: [{prefix: "syn/", size: 1KiB}]}`+"\n    faults: {latency: 300ms}", 1)
		return s + "expect:\n  - load: {phase: load, target: \"" + objects + "\", p99: \"< 100ms\"}\n    abort_on_fail: true\n"
	})
	dir, m, output := runAborted(t, sc)
	for _, want := range []string{"load/load/" + objects + " failed (abort_on_fail): phase load, target " + objects + ": p99 at least ",
		"over the last 5s", "verdict: fail (exit 1)"} {
		if !strings.Contains(output, want) {
			t.Errorf("output lacks %q:\n%s", want, output)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, record.ReportHTML)); err != nil {
		t.Errorf("no report after an abort: %v", err)
	}
	for _, p := range m.Phases {
		if p.Name == "load" && p.End.Sub(p.Start) >= time.Duration(p.PlannedMs)*time.Millisecond {
			t.Errorf("load phase ran its full %s", p.End.Sub(p.Start))
		}
	}
	assertNoOrphans(t, m)
}
