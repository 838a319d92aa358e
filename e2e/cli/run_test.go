package cli

import (
	"bufio"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/soak-dev/soak/internal/clitest"
	"github.com/soak-dev/soak/record"
)

// waitEvent waits until events.jsonl of dir holds an event of kind named name.
func waitEvent(t *testing.T, dir, kind, name string) {
	t.Helper()
	clitest.WaitFor(t, 60*time.Second, func() bool { return hasEvent(dir, kind, name) })
}

// hasEvent says whether events.jsonl of dir holds an event of kind named name.
func hasEvent(dir, kind, name string) bool {
	f, err := os.Open(filepath.Join(dir, record.EventsFile))
	if err != nil {
		return false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var e record.Event
		if json.Unmarshal(sc.Bytes(), &e) == nil && e.Kind == kind && e.Name == name {
			return true
		}
	}
	return false
}

func readMeta(t *testing.T, dir string) record.Meta {
	t.Helper()
	var m record.Meta
	b, err := os.ReadFile(filepath.Join(dir, record.MetaFile))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// alive reports whether pid still runs (and is not a zombie).
func alive(pid int) bool {
	if syscall.Kill(pid, 0) != nil {
		return false
	}
	b, err := os.ReadFile("/proc/" + itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	i := strings.LastIndexByte(string(b), ')')
	return i < 0 || i+2 >= len(b) || b[i+2] != 'Z'
}

func itoa(n int) string { return strconv.Itoa(n) }

func nodePIDs(m record.Meta) []int {
	var pids []int
	for _, n := range m.Nodes {
		if n.PID > 0 {
			pids = append(pids, n.PID)
		}
	}
	return pids
}

func assertNoOrphans(t *testing.T, m record.Meta) {
	t.Helper()
	pids := nodePIDs(m)
	if len(pids) == 0 {
		t.Fatal("meta.json lists no node pids")
	}
	clitest.WaitFor(t, 10*time.Second, func() bool {
		for _, p := range pids {
			if alive(p) {
				return false
			}
		}
		return true
	})
}

func TestRunHealthyMini(t *testing.T) {
	t.Parallel() // mostly waiting on a run of its own
	out := t.TempDir()
	code, output := clitest.Run(t, "run", "testdata/mini.yaml", "--out", out, "--quiet")
	dir := clitest.RunDir(t, out)
	m := readMeta(t, dir)
	if m.Ended != record.EndedCompleted {
		t.Fatalf("ended = %q (%s), want completed\n%s", m.Ended, m.Cause, output)
	}
	if code != 0 {
		t.Errorf("exit code = %d, want 0 (healthy SUT)\n%s", code, output)
	}
	for _, f := range []string{record.SamplesFile, record.VerdictFile, record.ReportHTML, "logs/proxy.log", "load/load.json"} {
		if st, err := os.Stat(filepath.Join(dir, f)); err != nil || st.Size() == 0 {
			t.Errorf("%s missing or empty: %v", f, err)
		}
	}
	if !strings.Contains(output, "verdict:") || !strings.Contains(output, "report.html") {
		t.Errorf("output lacks the verdict and report path:\n%s", output)
	}
	assertNoOrphans(t, m)
}

// startLoading starts a run of mini.yaml with a 60 s load phase and returns
// one second into that phase.
func startLoading(t *testing.T) (*exec.Cmd, *clitest.Output, string) {
	t.Helper()
	out := t.TempDir()
	cmd, output := clitest.Start(t, "run", "testdata/mini.yaml", "--out", out, "--quiet", "--set", "phases[0].steady.duration=60s")
	dir := clitest.RunDir(t, out)
	// Fail at once, with soak's own words, if the run ends before its load.
	clitest.WaitFor(t, 60*time.Second, func() bool {
		return hasEvent(dir, record.EventPhaseStart, "load") || !alive(cmd.Process.Pid)
	})
	if !alive(cmd.Process.Pid) {
		cmd.Wait()
		t.Fatalf("soak ended before its load phase: %v\n%s", cmd.ProcessState, output)
	}
	time.Sleep(time.Second)
	return cmd, output, dir
}

func TestRunInterrupted(t *testing.T) {
	t.Parallel() // mostly waiting on a run of its own
	cmd, output, dir := startLoading(t)
	start := time.Now()
	cmd.Process.Signal(os.Interrupt)
	err := cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 130 {
		t.Fatalf("exit = %v, want 130\n%s", err, output)
	}
	if d := time.Since(start); d > 30*time.Second {
		t.Errorf("took %s to stop after SIGINT", d)
	}
	m := readMeta(t, dir)
	if m.Ended != record.EndedInterrupted {
		t.Errorf("ended = %q, want interrupted", m.Ended)
	}
	if _, err := os.Stat(filepath.Join(dir, record.ReportHTML)); err != nil {
		t.Errorf("no report after SIGINT: %v", err)
	}
	assertNoOrphans(t, m)
}

// A second SIGINT skips the report but keeps the data: meta.json says
// interrupted, samples are on disk, and soak report builds it later.
func TestRunInterruptedTwice(t *testing.T) {
	t.Parallel() // mostly waiting on a run of its own
	cmd, output, dir := startLoading(t)
	cmd.Process.Signal(os.Interrupt)
	// The second signal goes once the first was handled (Go folds a signal
	// that arrives while the same one is pending), while soak still tears
	// down or builds the report: either way the report must not be written.
	if !output.WaitFor("interrupted: stopping load", 30*time.Second) {
		t.Fatalf("first SIGINT not acknowledged:\n%s", output)
	}
	cmd.Process.Signal(os.Interrupt)
	err := cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 130 {
		t.Fatalf("exit = %v, want 130\n%s", err, output)
	}
	if !strings.Contains(output.String(), "report skipped") {
		t.Errorf("no word of the skipped report:\n%s", output)
	}
	if _, err := os.Stat(filepath.Join(dir, record.ReportHTML)); err == nil {
		t.Error("report.html written after a second SIGINT")
	}
	m := readMeta(t, dir)
	if m.Ended != record.EndedInterrupted {
		t.Errorf("ended = %q, want interrupted", m.Ended)
	}
	assertNoOrphans(t, m)
	if code, out := clitest.Run(t, "report", dir); code != 0 {
		t.Errorf("soak report after a double interrupt: exit %d\n%s", code, out)
	}
}

func TestRunNodeDies(t *testing.T) {
	t.Parallel() // mostly waiting on a run of its own
	cmd, output, dir := startLoading(t)
	m := readMeta(t, dir)
	target := m.Nodes["target"].PID
	if target == 0 {
		t.Fatal("no target pid in meta.json")
	}
	syscall.Kill(target, syscall.SIGKILL)
	err := cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 3 {
		t.Fatalf("exit = %v, want 3\n%s", err, output)
	}
	m = readMeta(t, dir)
	if m.Ended != record.EndedSUTFailed || !strings.Contains(m.Cause, "node target") || !strings.Contains(m.Cause, "signal") {
		t.Errorf("ended = %q, cause = %q; want sut-failed naming node target and the signal", m.Ended, m.Cause)
	}
	if _, err := os.Stat(filepath.Join(dir, record.ReportHTML)); err != nil {
		t.Errorf("no report after node death: %v", err)
	}
	assertNoOrphans(t, m)
}

func TestKilledRunIsReportable(t *testing.T) {
	t.Parallel() // mostly waiting on a run of its own
	cmd, _, dir := startLoading(t)
	time.Sleep(time.Second)
	cmd.Process.Kill()
	cmd.Wait()
	m := readMeta(t, dir)
	assertNoOrphans(t, m) // Pdeathsig: the nodes die with soak
	code, output := clitest.Run(t, "report", dir)
	if code != 0 {
		t.Fatalf("soak report of a killed run: exit %d\n%s", code, output)
	}
	if _, err := os.Stat(filepath.Join(dir, record.ReportHTML)); err != nil {
		t.Errorf("no report.html: %v", err)
	}
	run, err := record.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	samples, _ := run.Samples()
	if run.Meta.Ended != record.EndedKilled || len(samples) < 4 {
		t.Errorf("ended = %q with %d samples; want killed with the samples up to the kill", run.Meta.Ended, len(samples))
	}
}

func TestNodeNeverReady(t *testing.T) {
	t.Parallel() // mostly waiting on a run of its own
	out := t.TempDir()
	sc := filepath.Join(t.TempDir(), "dead.yaml")
	os.WriteFile(sc, []byte(`name: dead
nodes:
  n:
    command: ["sh", "-c", "echo cannot start: config missing >&2; sleep 30"]
    ready_timeout: 1s
phases:
  - {name: p, quiet: {duration: 1s}}
`), 0o644)
	code, output := clitest.Run(t, "run", sc, "--out", out, "--quiet")
	if code != 3 || !strings.Contains(output, "not ready after 1s") || !strings.Contains(output, "config missing") {
		t.Errorf("exit %d, output:\n%s\nwant exit 3, 'not ready after 1s' and the log tail", code, output)
	}
	m := readMeta(t, clitest.RunDir(t, out))
	if m.Ended != record.EndedError {
		t.Errorf("ended = %q, want error", m.Ended)
	}
	assertNoOrphans(t, m)
}
