// Package clitest runs the soak command line in tests and reads what it
// leaves: the binary of testbin run to its end (exit code and output) or
// started in the background with its output watched as it comes, the run
// directory it made, each phase's requests and connections. Only tests
// import it: cmd/soak's unit tests and the end-to-end packages.
package clitest

import (
	"errors"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/soak-dev/soak/internal/testbin"
	"github.com/soak-dev/soak/record"
)

// Run runs the soak binary and returns its exit code and combined output.
func Run(t testing.TB, args ...string) (int, string) {
	t.Helper()
	cmd := exec.Command(testbin.Path(t), args...)
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode(), string(out)
	}
	if err != nil {
		t.Fatalf("soak %v: %v", args, err)
	}
	return 0, string(out)
}

// Start starts the soak binary in the background; the test's cleanup
// kills it if it still runs.
func Start(t testing.TB, args ...string) (*exec.Cmd, *Output) {
	t.Helper()
	out := newOutput()
	cmd := exec.Command(testbin.Path(t), args...)
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	return cmd, out
}

// RunDir waits for the single run directory under out to appear (its
// meta.json written) and returns it.
func RunDir(t testing.TB, out string) string {
	t.Helper()
	var dir string
	WaitFor(t, 30*time.Second, func() bool {
		m, _ := filepath.Glob(filepath.Join(out, "*", record.MetaFile))
		if len(m) == 1 {
			dir = filepath.Dir(m[0])
		}
		return dir != ""
	})
	return dir
}

// WaitFor polls cond until it holds; the test fails if it did not within d.
func WaitFor(t testing.TB, d time.Duration, cond func() bool) {
	t.Helper()
	for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("condition not met within %s", d)
}

// PhaseCounts reads every phase's requests and client connections from
// the run directory dir, keyed "PHASE requests" and "PHASE conns".
func PhaseCounts(t testing.TB, dir string) map[string]uint64 {
	t.Helper()
	r, err := record.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	prs, err := r.PhaseResults()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]uint64{}
	for _, p := range prs {
		out[p.Phase+" requests"] += p.Requests
		out[p.Phase+" conns"] += uint64(p.ConnsOpened)
	}
	return out
}
