package record

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var t0 = time.Date(2026, 11, 29, 3, 0, 0, 0, time.UTC)

// newRun writes a run with n samples per node and the given meta end.
func newRun(t *testing.T, n int, ended string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "run")
	w, err := Create(dir)
	if err != nil {
		t.Fatal(err)
	}
	m := Meta{Scenario: "s", Start: t0, Nodes: map[string]NodeMeta{"b": {}, "a": {}}}
	if err := w.WriteMeta(m); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < n; i++ {
		if err := w.Sample(Sample{Time: t0.Add(time.Duration(i) * time.Second), Node: "a"}); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Conn(Conn{Witness: WitnessBackend, Layer: "backend", Opened: t0}); err != nil {
		t.Fatal(err)
	}
	if err := w.Event(Event{Kind: "phase-start"}); err != nil {
		t.Fatal(err)
	}
	if ended != "" {
		m.End, m.Ended = t0.Add(time.Hour), ended
		if err := w.WriteMeta(m); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	return dir
}

func TestRoundTrip(t *testing.T) {
	dir := newRun(t, 3, EndedCompleted)
	r, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := r.Meta.Format, FormatVersion; got != want {
		t.Errorf("format %d, want %d", got, want)
	}
	samples, err := r.Samples()
	if err != nil {
		t.Fatal(err)
	}
	conns, _ := r.Conns()
	events, _ := r.Events()
	if len(samples) != 3 || len(conns) != 1 || len(events) != 1 {
		t.Fatalf("read %d samples, %d conns, %d events; want 3, 1, 1", len(samples), len(conns), len(events))
	}
	if events[0].Time.IsZero() {
		t.Error("an event with no time was not stamped")
	}
	if got := strings.Join(r.Nodes(), ","); got != "a,b" {
		t.Errorf("Nodes() = %s, want a,b", got)
	}
	if len(r.Warnings) != 0 {
		t.Errorf("warnings on a clean run: %v", r.Warnings)
	}
}

// A run killed with SIGKILL: no end in meta.json and a torn last line.
// Everything before the torn line is read; the run reads as killed, ending
// at its last sample.
func TestKilledRunTornLine(t *testing.T) {
	dir := newRun(t, 5, "")
	f, err := os.OpenFile(filepath.Join(dir, SamplesFile), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString(`{"t":"2026-11-29T03:00:09Z","node":"a","fds":{"to`)
	f.Close()
	r, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if r.Meta.Ended != EndedKilled {
		t.Errorf("ended %q, want %q", r.Meta.Ended, EndedKilled)
	}
	if want := t0.Add(4 * time.Second); !r.Meta.End.Equal(want) {
		t.Errorf("end %v, want the last whole sample %v", r.Meta.End, want)
	}
	r.Warnings = nil
	samples, err := r.Samples()
	if err != nil {
		t.Fatal(err)
	}
	if len(samples) != 5 {
		t.Errorf("read %d samples, want the 5 whole ones", len(samples))
	}
	if len(r.Warnings) != 1 || !strings.Contains(r.Warnings[0], "samples.jsonl:6: torn last line") {
		t.Errorf("warnings %q, want one naming the torn line 6", r.Warnings)
	}
}

// A corrupt line in the middle is skipped with its line number; the lines
// after it are still read.
func TestCorruptMiddleLine(t *testing.T) {
	dir := newRun(t, 2, EndedCompleted)
	path := filepath.Join(dir, SamplesFile)
	b, _ := os.ReadFile(path)
	lines := strings.SplitAfter(string(b), "\n")
	os.WriteFile(path, []byte(lines[0]+"not json\n\n"+lines[1]), 0o644)
	r, _ := Open(dir)
	samples, err := r.Samples()
	if err != nil {
		t.Fatal(err)
	}
	if len(samples) != 2 {
		t.Errorf("read %d samples, want 2", len(samples))
	}
	if len(r.Warnings) != 1 || !strings.Contains(r.Warnings[0], "samples.jsonl:2: skipped") {
		t.Errorf("warnings %q, want one for line 2 (blank lines are not warned about)", r.Warnings)
	}
}

func TestOpenErrors(t *testing.T) {
	if _, err := Open(t.TempDir()); !errors.Is(err, ErrNotRun) {
		t.Errorf("Open of an empty dir: %v, want ErrNotRun", err)
	}
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, MetaFile), []byte("{"), 0o644)
	if _, err := Open(dir); err == nil || !strings.Contains(err.Error(), MetaFile) {
		t.Errorf("Open of a broken meta.json: %v, want an error naming it", err)
	}
	full := newRun(t, 1, EndedCompleted)
	if _, err := Create(full); err == nil {
		t.Error("Create over a non-empty run directory succeeded")
	}
	newer := newRun(t, 1, EndedCompleted)
	b, _ := os.ReadFile(filepath.Join(newer, MetaFile))
	os.WriteFile(filepath.Join(newer, MetaFile), []byte(strings.Replace(string(b), `"format": 1`, `"format": 99`, 1)), 0o644)
	if r, err := Open(newer); err != nil || len(r.Warnings) == 0 {
		t.Errorf("a newer format: err %v, warnings %v; want a warning", err, r.Warnings)
	}
}

// Lines written concurrently never interleave: each Append is one write(2).
func TestConcurrentAppends(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "run")
	w, err := Create(dir)
	if err != nil {
		t.Fatal(err)
	}
	w.WriteMeta(Meta{Start: t0, End: t0, Ended: EndedCompleted})
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 200; i++ {
				w.Conn(Conn{Layer: strings.Repeat("x", 500), Requests: int64(i)})
			}
		}()
	}
	wg.Wait()
	w.Close()
	if err := w.Conn(Conn{}); !errors.Is(err, os.ErrClosed) {
		t.Errorf("Conn after Close: %v, want os.ErrClosed", err)
	}
	r, _ := Open(dir)
	conns, err := r.Conns()
	if err != nil || len(conns) != 1600 || len(r.Warnings) != 0 {
		t.Errorf("read %d conns (err %v, warnings %v), want 1600 clean lines", len(conns), err, r.Warnings)
	}
}

func TestWriteFileAtomicShareable(t *testing.T) {
	path := filepath.Join(t.TempDir(), "verdict.json")
	if err := WriteJSONAtomic(path, map[string]int{"a": 1}); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o644 {
		t.Errorf("mode %v, want 0644 (reports are shared)", st.Mode().Perm())
	}
	left, _ := filepath.Glob(filepath.Join(filepath.Dir(path), ".*"))
	if len(left) != 0 {
		t.Errorf("temporary files left: %v", left)
	}
}
