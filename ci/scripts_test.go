// Package ci_test runs the ci/ scripts with short runs of a tiny scenario
// and checks their exit codes: pass, regression, SUT failure. The tests run
// in parallel at go test's -parallel (GOMAXPROCS): more runs at once starve
// the healthy runs' 1 s idle timers on 2 cores.
package ci_test

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/soak-dev/soak/internal/testbin"
)

// script runs a ci/ script and returns its exit code and output.
func script(t *testing.T, name string, args ...string) (int, string) {
	t.Helper()
	cmd := exec.Command("bash", append([]string{name}, args...)...)
	cmd.Env = append(os.Environ(), "SOAK="+testbin.Path(t), "GITHUB_STEP_SUMMARY=")
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode(), string(out)
	}
	if err != nil {
		t.Fatal(err)
	}
	return 0, string(out)
}

func TestNightly(t *testing.T) {
	t.Parallel()
	runs := t.TempDir()
	code, out := script(t, "nightly", "--scenario", "testdata/tiny.yaml", "--runs", runs)
	if code != 0 {
		t.Fatalf("first nightly: exit %d, want 0\n%s", code, out)
	}
	base, err := os.Readlink(filepath.Join(runs, "baseline"))
	if err != nil {
		t.Fatalf("no baseline after a passing nightly: %v", err)
	}

	// A leak: the checks fail, the comparison with the baseline runs, the baseline stays.
	code, out = script(t, "nightly", "--scenario", "testdata/tiny.yaml", "--runs", runs, "--", "--set", "vars.leak=server-no-idle-timeout")
	if code != 1 {
		t.Errorf("nightly with a leak: exit %d, want 1\n%s", code, out)
	}
	if !strings.Contains(out, "compare with baseline") {
		t.Errorf("nightly did not compare with the baseline:\n%s", out)
	}
	if now, _ := os.Readlink(filepath.Join(runs, "baseline")); now != base {
		t.Errorf("baseline moved to a failing run: %s -> %s", base, now)
	}
	latest, _ := filepath.EvalSymlinks(filepath.Join(runs, "latest"))
	if _, err := os.Stat(filepath.Join(latest, "compare", "compare.html")); err != nil {
		t.Errorf("no comparison report in the latest run: %v", err)
	}

	// The SUT cannot start.
	code, out = script(t, "nightly", "--scenario", "testdata/tiny.yaml", "--runs", runs, "--", "--set", "vars.sut=/bin/false")
	if code != 3 {
		t.Errorf("nightly with a dead SUT: exit %d, want 3\n%s", code, out)
	}
	if _, err := os.Stat(filepath.Join(runs, "latest", "report.html")); err != nil {
		t.Errorf("no report for the failed run: %v", err)
	}
}

func TestABBuilds(t *testing.T) {
	t.Parallel()
	runs := t.TempDir()
	code, out := script(t, "ab-builds", "--scenario", "testdata/tiny.yaml", "--runs", runs, "--var", "engine", "--a", "net/http", "--b", "fasthttp")
	if code != 0 {
		t.Fatalf("ab-builds: exit %d, want 0\n%s", code, out)
	}
	if m, _ := filepath.Glob(filepath.Join(runs, "compare-*", "compare.html")); len(m) != 1 {
		t.Errorf("no compare.html under %s", runs)
	}
}

func TestPrerelease(t *testing.T) {
	t.Parallel()
	runs, soakBin := t.TempDir(), testbin.Path(t)
	// The rule is given: the default ones add goroutines.peak:+20% and
	// fd.peak:+20%, which one cycle of the tiny scenario on a busy machine
	// trips against itself (seen at load 29: target goroutines 16 vs 30,
	// backend connections 3 vs 8).
	code, out := script(t, "prerelease", "--scenario", "testdata/tiny.yaml", "--runs", runs, "--previous", soakBin, "--candidate", soakBin,
		"--fail-on", "any-check-regressed")
	if code != 0 || !regexp.MustCompile(`ok +any-check-regressed`).MatchString(out) {
		t.Fatalf("prerelease of the same binary: exit %d, want 0 and any-check-regressed ok\n%s", code, out)
	}
	code, out = script(t, "prerelease", "--scenario", "testdata/tiny.yaml", "--runs", runs, "--previous", soakBin, "--candidate", "/bin/false")
	if code != 3 {
		t.Errorf("prerelease with a candidate that cannot start: exit %d, want 3\n%s", code, out)
	}
	code, _ = script(t, "prerelease", "--scenario", "testdata/tiny.yaml")
	if code != 2 {
		t.Errorf("prerelease without binaries: exit %d, want 2", code)
	}
}

func TestFalseAlarms(t *testing.T) {
	t.Parallel()
	runs := t.TempDir()
	code, out := script(t, "false-alarms", "--scenario", "testdata/tiny.yaml", "--count", "1", "--runs", runs)
	if code != 0 || !strings.Contains(out, "false alarms: 0 of 1 runs") {
		t.Fatalf("false-alarms on a healthy build: exit %d, want 0 and a tally\n%s", code, out)
	}
	// A leak is an alarm (a true one here): counted, named, exit 1.
	code, out = script(t, "false-alarms", "--scenario", "testdata/tiny.yaml", "--count", "1", "--runs", runs, "--", "--set", "vars.leak=server-no-idle-timeout")
	if code != 1 || !strings.Contains(out, "false alarms: 1 of 1 runs") || !strings.Contains(out, "reclaim/client") {
		t.Errorf("false-alarms with a leak: exit %d, want 1, a tally and the failing check\n%s", code, out)
	}
	if code, _ := script(t, "false-alarms", "--count", "x"); code != 2 {
		t.Errorf("false-alarms --count x: exit %d, want 2", code)
	}
}

// TestABReclaim is issue 17's proof: two builds of the reference SUT that
// differ only in the target's backend idle timeout (1 s vs 3 s) through
// ci/ab-builds: the table gives both effective timeouts within one sample
// interval (250ms) of the configured values and the rules trip (exit 1).
// SOAK_LONG=1 adds goroutines per idle connection (the proxy's client on
// fasthttp vs net/http, 2 connections) and one build against itself, which
// must trip no rule.
func TestABReclaim(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the reference SUT four times")
	}
	t.Parallel()
	ab := func(v, a, b string, rules ...string) (int, string) {
		args := []string{"--scenario", "testdata/reclaim-ab.yaml", "--runs", t.TempDir(), "--var", v, "--a", a, "--b", b}
		for _, r := range rules {
			args = append(args, "--fail-on", r)
		}
		return script(t, "ab-builds", args...)
	}
	code, out := ab("backend_idle", "1s", "3s", "backend.max_idle:+1s", "backend.reclaimed_after:+1s")
	if code != 1 {
		t.Errorf("1 s vs 3 s backend idle timeout: exit %d, want 1\n%s", code, out)
	}
	for _, want := range []*regexp.Regexp{
		regexp.MustCompile(`backend \(node target\): reclaimed after (0\.[89]|1\.[01]) s \(A, backend, \d+ closes\) vs (2\.[89]|3\.[01]) s \(B, backend`),
		regexp.MustCompile(`TRIPPED +backend\.reclaimed_after:\+1s`),
		regexp.MustCompile(`TRIPPED +backend\.max_idle:\+1s`),
	} {
		if !want.MatchString(out) {
			t.Errorf("the A-vs-B table lacks %s:\n%s", want, out)
		}
	}
	if os.Getenv("SOAK_LONG") == "" {
		t.Log("SOAK_LONG=1 also compares goroutines per idle connection and one build with itself")
		return
	}
	code, out = ab("intra_engine", "fasthttp", "net/http", "intra.goroutines_per_idle_conn:+0.5")
	if code != 1 || !regexp.MustCompile(`intra: ~[01]\.\d vs ~2\.0 goroutines per idle connection`).MatchString(out) {
		t.Errorf("fasthttp vs net/http proxy client: exit %d, want 1 and ~2.0 for net/http\n%s", code, out)
	}
	code, out = ab("backend_idle", "1s", "1s", "backend.max_idle:+1s", "backend.reclaimed_after:+1s",
		"intra.reclaimed_after:+1s", "intra.goroutines_per_idle_conn:+0.5", "backend.goroutines_per_idle_conn:+0.5")
	if code != 0 {
		t.Errorf("one build against itself: exit %d, want 0 (a false trip)\n%s", code, out)
	}
}
