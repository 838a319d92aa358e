package runner

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestMakeRunDir checks that every reason a run directory cannot be made
// ends in an error at once. The old loop retried on anything but "not
// found" and spun at 100% CPU forever on these.
func TestMakeRunDir(t *testing.T) {
	tmp := t.TempDir()
	file := filepath.Join(tmp, "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, out, base string
		want            error
	}{
		{"out under a regular file", filepath.Join(file, "sub"), "20260101-000000_x", syscall.ENOTDIR},
		{"name too long", tmp, "20260101-000000_" + strings.Repeat("n", 250), syscall.ENAMETOOLONG},
		{"NUL in name", tmp, "20260101-000000_a\x00b", syscall.EINVAL},
	} {
		t.Run(tc.name, func(t *testing.T) {
			done := make(chan error, 1)
			go func() { _, err := makeRunDir(tc.out, tc.base); done <- err }()
			select {
			case err := <-done:
				if !errors.Is(err, tc.want) {
					t.Fatalf("err = %v, want %v", err, tc.want)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("makeRunDir did not return in 10 s (it loops)")
			}
		})
	}
}

// TestMakeRunDirSuffix checks that a taken name moves on to -2, -3.
func TestMakeRunDirSuffix(t *testing.T) {
	tmp := t.TempDir()
	for _, want := range []string{"r", "r-2", "r-3"} {
		dir, err := makeRunDir(tmp, "r")
		if err != nil {
			t.Fatal(err)
		}
		if got := filepath.Base(dir); got != want {
			t.Errorf("got %s, want %s", got, want)
		}
	}
}

// TestSanitize checks that --name, which is not validated, still gives one
// short path element.
func TestSanitize(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"a/b c:d", "a-b-c-d"},
		{"a\x00b\x1b[31m", "a-b-[31m"},
		{strings.Repeat("é", 100), strings.Repeat("é", 64)},
	} {
		if got := sanitize(tc.in); got != tc.want {
			t.Errorf("sanitize(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
