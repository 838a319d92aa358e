// Package ci_test runs the ci/ scripts with short runs of a tiny scenario
// and checks their exit codes: pass, regression, SUT failure.
package ci_test

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

var soakBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "soak-ci")
	if err != nil {
		panic(err)
	}
	soakBin = filepath.Join(dir, "soak")
	if out, err := exec.Command("go", "build", "-o", soakBin, "../cmd/soak").CombinedOutput(); err != nil {
		os.Stderr.Write(out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// script runs a ci/ script and returns its exit code and output.
func script(t *testing.T, name string, args ...string) (int, string) {
	t.Helper()
	cmd := exec.Command("bash", append([]string{name}, args...)...)
	cmd.Env = append(os.Environ(), "SOAK="+soakBin, "GITHUB_STEP_SUMMARY=")
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
	runs := t.TempDir()
	code, out := script(t, "prerelease", "--scenario", "testdata/tiny.yaml", "--runs", runs, "--previous", soakBin, "--candidate", soakBin)
	if code != 0 {
		t.Fatalf("prerelease of the same binary: exit %d, want 0\n%s", code, out)
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
