package runner

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/soak-dev/soak/record"
	"github.com/soak-dev/soak/scenarios"
)

// A node's files go through the run directory's os.Root: a symlink planted
// where a file goes (by a node started earlier) is replaced, and one planted
// on its way out of the run directory is refused; nothing outside changes.
func TestNodeFilesStayInRunDir(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, file string
		plant      func(t *testing.T, dir, outside string)
		refused    bool
	}{
		{"symlink at the file", "nginx.conf", func(t *testing.T, dir, outside string) {
			must(t, os.Symlink(filepath.Join(outside, "victim"), filepath.Join(dir, "nginx.conf")))
		}, false},
		{"symlinked directory on the way", "conf/nginx.conf", func(t *testing.T, dir, outside string) {
			must(t, os.Symlink(outside, filepath.Join(dir, "conf")))
		}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir, outside := filepath.Join(t.TempDir(), "run"), t.TempDir()
			victim := filepath.Join(outside, "victim")
			must(t, os.WriteFile(victim, []byte("keep me"), 0o644))
			w, err := record.Create(dir)
			must(t, err)
			defer w.Close()
			tt.plant(t, dir, outside)
			r := &run{w: w}
			_, err = r.nodeSpec("n", &scenarios.Node{Command: []string{"true"}, Files: map[string]string{tt.file: "written"}})
			if got, _ := os.ReadFile(victim); string(got) != "keep me" {
				t.Errorf("file outside the run directory became %q", got)
			}
			if _, err := os.Stat(filepath.Join(outside, "nginx.conf")); err == nil {
				t.Errorf("a file was created outside the run directory")
			}
			if tt.refused {
				if err == nil {
					t.Fatalf("nodeSpec wrote %s through a symlink out of the run directory", tt.file)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got, _ := os.ReadFile(filepath.Join(dir, tt.file)); string(got) != "written" {
				t.Errorf("%s = %q, want the rendered file", tt.file, got)
			}
		})
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
