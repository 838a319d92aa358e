package record

import (
	"os"
	"path/filepath"
	"testing"
)

// TestCreateFileStaysInRunDir: a node's log was opened by path, so a
// symlink a node started earlier put at logs/NODE.log (or at logs/) took
// the next node's output outside the run directory. CreateFile refuses
// both and leaves the target alone.
func TestCreateFileStaysInRunDir(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ name, link, target string }{
		{"symlink at the file", "logs/n.log", "victim"},
		{"symlinked directory", "logs", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir, outside := filepath.Join(t.TempDir(), "run"), t.TempDir()
			victim := filepath.Join(outside, "victim")
			if err := os.WriteFile(victim, []byte("keep me"), 0o644); err != nil {
				t.Fatal(err)
			}
			w, err := Create(dir)
			if err != nil {
				t.Fatal(err)
			}
			defer w.Close()
			os.RemoveAll(filepath.Join(dir, tc.link))
			if err := os.Symlink(filepath.Join(outside, tc.target), filepath.Join(dir, tc.link)); err != nil {
				t.Fatal(err)
			}
			f, err := w.CreateFile(LogsDir, "n.log")
			if err == nil {
				f.WriteString("node output")
				f.Close()
				t.Error("CreateFile opened a file through a symlink out of the run directory")
			}
			if b, _ := os.ReadFile(victim); string(b) != "keep me" {
				t.Errorf("file outside the run directory became %q", b)
			}
			if _, err := os.Stat(filepath.Join(outside, "n.log")); err == nil {
				t.Error("a file was created outside the run directory")
			}
		})
	}
}
