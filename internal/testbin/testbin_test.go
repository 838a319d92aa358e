package testbin

import (
	"os"
	"path/filepath"
	"testing"
)

// ownDir accepts only a real folder of this user, mode 0700: a fixed path
// under /tmp must not take a folder or a link someone else planted.
func TestOwnDir(t *testing.T) {
	base := t.TempDir()
	fresh := filepath.Join(base, "fresh")
	if err := ownDir(fresh); err != nil {
		t.Fatalf("new folder: %v", err)
	}
	if err := ownDir(fresh); err != nil {
		t.Fatalf("the same folder again: %v", err)
	}
	if fi, _ := os.Stat(fresh); fi.Mode().Perm() != 0o700 {
		t.Errorf("mode %v, want 0700", fi.Mode().Perm())
	}
	open := filepath.Join(base, "open")
	os.Mkdir(open, 0o755)
	os.Chmod(open, 0o755) // whatever the umask
	link := filepath.Join(base, "link")
	os.Symlink(fresh, link)
	file := filepath.Join(base, "file")
	os.WriteFile(file, nil, 0o600)
	for _, p := range []string{open, link, file} {
		if err := ownDir(p); err == nil {
			t.Errorf("%s: accepted", filepath.Base(p))
		}
	}
}

func TestModuleRoot(t *testing.T) {
	root, err := moduleRoot()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "cmd", "soak")); err != nil {
		t.Errorf("module root %s has no cmd/soak: %v", root, err)
	}
}
