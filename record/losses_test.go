package record

import (
	"os"
	"strings"
	"testing"
)

// A line the kernel refuses (ENOSPC from /dev/full, as on a full disk) is
// counted as lost with its cause; nothing lost says nothing.
func TestWriterLosses(t *testing.T) {
	w, err := Create(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if err := w.Sample(Sample{Node: "a"}); err != nil {
		t.Fatal(err)
	}
	if got := w.Losses(); len(got) != 0 {
		t.Fatalf("Losses after a good write = %q, want none", got)
	}
	full, err := os.OpenFile("/dev/full", os.O_WRONLY, 0)
	if err != nil {
		t.Skipf("no /dev/full: %v", err)
	}
	w.samples.mu.Lock()
	good := w.samples.f
	w.samples.f = full
	w.samples.mu.Unlock()
	for range 3 {
		if err := w.Sample(Sample{Node: "a"}); err == nil {
			t.Fatal("write to /dev/full succeeded")
		}
	}
	w.samples.mu.Lock()
	w.samples.f = good
	w.samples.mu.Unlock()
	full.Close()
	got := w.Losses()
	if len(got) != 1 || !strings.HasPrefix(got[0], SamplesFile+": 3 lines not written") || !strings.Contains(got[0], "no space left on device") {
		t.Errorf("Losses = %q, want samples.jsonl: 3 lines not written ... no space left on device", got)
	}
}
