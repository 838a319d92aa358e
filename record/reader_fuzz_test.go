package record

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzRunDir: a run directory is untrusted input (CI artifacts, baselines).
// Whatever meta.json and samples.jsonl hold, Open and the readers return
// data or an error, never panic, and what Open accepts has a start.
func FuzzRunDir(f *testing.F) {
	f.Add([]byte(`{"format":1,"scenario":"x","start":"2026-01-01T00:00:00Z","end":"2026-01-01T00:00:10Z","ended":"completed","interval_ms":1000,"nodes":{"a":{}}}`),
		[]byte(`{"t":"2026-01-01T00:00:01Z","node":"a","sockets":{"total":3}}`+"\n"))
	f.Add([]byte(`{"format":1}`), []byte(`{"t":"9999-01-01T00:00:00Z"}`+"\n"+`{"t":"0001-01-01T00:00:00Z"}`))
	f.Add([]byte(`{"format":99,"start":"2026-01-01T00:00:00Z","end":"2025-01-01T00:00:00Z"}`), []byte("not json\n{\"t\":"))
	f.Add([]byte(`null`), []byte(""))
	f.Add([]byte(`{"phases":[{"name":"p","start":"2026-01-01T00:00:00Z"}],"nodes":{"../x":{"log":"/etc/passwd"}}}`), []byte("\n\n\n"))
	f.Fuzz(func(t *testing.T, meta, samples []byte) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, MetaFile), meta, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, SamplesFile), samples, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, ConnsFile), samples, 0o644); err != nil {
			t.Fatal(err)
		}
		r, err := Open(dir)
		if err != nil {
			return
		}
		defer r.Close()
		if r.Meta.Start.IsZero() && r.Meta.End.IsZero() {
			// Nothing to date the run by: acceptable, but never a start after the end.
		} else if !r.Meta.End.IsZero() && r.Meta.End.Before(r.Meta.Start) {
			t.Fatalf("end %v before start %v", r.Meta.End, r.Meta.Start)
		}
		_, _ = r.Samples()
		_, _ = r.Conns()
		_, _ = r.Events()
		_, _ = r.PhaseResults()
		_ = r.Nodes()
	})
}
