package record

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestReaderHostile: issue 21. A line longer than MaxLineBytes is skipped
// (counted, warned about) and the lines after it are still read; a
// meta.json without a start takes the first sample's; a killed run's end is
// not taken from a sample dated in the future.
func TestReaderHostile(t *testing.T) {
	dir := t.TempDir()
	meta := `{"format":1,"scenario":"x","interval_ms":1000,"nodes":{"a":{}}}`
	long := `{"t":"2026-01-01T00:00:03Z","node":"a","x":"` + strings.Repeat("y", MaxLineBytes) + `"}`
	samples := `{"t":"2026-01-01T00:00:02Z","node":"a"}
` + long + `
{"t":"2026-01-01T00:00:04Z","node":"a"}
{"t":"9999-01-01T00:00:00Z","node":"a"}
` + long + "\n" + long + "\n" + long + `
{"t":"2026-01-01T00:00:05Z","node":"a"}`
	os.WriteFile(filepath.Join(dir, MetaFile), []byte(meta), 0o644)
	os.WriteFile(filepath.Join(dir, SamplesFile), []byte(samples), 0o644)
	r, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if want := time.Date(2026, 1, 1, 0, 0, 2, 0, time.UTC); !r.Meta.Start.Equal(want) {
		t.Errorf("start %v, want the first sample's %v", r.Meta.Start, want)
	}
	if want := time.Date(2026, 1, 1, 0, 0, 5, 0, time.UTC); !r.Meta.End.Equal(want) {
		t.Errorf("end %v, want the last sample's %v (not year 9999)", r.Meta.End, want)
	}
	r.Warnings = nil
	got, err := r.Samples()
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 4 {
		t.Errorf("read %d samples, want the 4 short ones", len(got))
	}
	w := strings.Join(r.Warnings, "\n")
	for _, want := range []string{"samples.jsonl:2: line over 4194304 bytes skipped", "samples.jsonl: 4 lines over 4194304 bytes skipped"} {
		if !strings.Contains(w, want) {
			t.Errorf("warnings lack %q:\n%s", want, w)
		}
	}
	if len(r.Warnings) > 5 {
		t.Errorf("%d warnings; long lines past the third are only counted", len(r.Warnings))
	}
}

// TestRunStaysInDir: reads and writes through a Run never leave its
// directory, whatever links it holds.
func TestRunStaysInDir(t *testing.T) {
	outside := filepath.Join(t.TempDir(), "outside")
	os.WriteFile(outside, []byte("OUTSIDE"), 0o644)
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, MetaFile), []byte(`{"format":1,"ended":"completed"}`), 0o644)
	os.Symlink(outside, filepath.Join(dir, "link"))
	os.Symlink(filepath.Dir(outside), filepath.Join(dir, "dirlink"))
	os.Symlink(outside, filepath.Join(dir, SamplesFile))
	r, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if b, err := r.ReadFile("link"); err == nil {
		t.Errorf("read through a link out: %q", b)
	}
	if _, err := r.ReadFile("..", filepath.Base(filepath.Dir(outside)), "outside"); err == nil {
		t.Error("read through ..")
	}
	if err := r.EachSample(func(Sample) error { return nil }); err == nil {
		t.Error("samples.jsonl linked out was read")
	}
	if err := r.WriteFile([]byte("X"), "dirlink", "outside"); err == nil {
		t.Error("wrote through a linked directory")
	}
	// A link at the name itself is replaced, not written through.
	if err := r.WriteFile([]byte("NEW"), "link"); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(outside); string(b) != "OUTSIDE" {
		t.Errorf("outside file now %q", b)
	}
	if b, _ := r.ReadFile("link"); string(b) != "NEW" {
		t.Errorf("link now %q", b)
	}
}
