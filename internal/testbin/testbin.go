// Package testbin gives tests the soak binary (the CLI and the reference
// SUT, `soak testsut`) built from this checkout, once for all packages.
//
// Every package of end-to-end tests (ci, e2e, e2e/cli, scenarios/examples)
// runs soak as a subprocess, and so do cmd/soak's unit tests of exit codes
// and usage. Each used to `go build -o` its own copy in a
// temporary folder: compiling is cached by go, linking is not, and the link
// of soak costs ~4 CPU seconds, paid once per package and per run. Here the
// binary lives at a fixed path per checkout under the temporary folder;
// `go build -o` leaves an up-to-date binary alone (it compares build IDs),
// so only the first package of a `go test ./...` after a change links.
//
// The binary is built without -race and without build tags, as
// `make build` does: tests run it as a separate process and judge what it
// does, not its data races (those are the packages' own tests, under -race).
package testbin

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
)

var (
	once sync.Once
	path string
	err  error
)

// Soak returns the path of the soak binary built from the checkout that
// holds the current directory, building (or relinking) it on first use in
// a process when its sources changed. Packages' tests running at the same
// time wait for one another's build (a file lock) instead of linking twice.
func Soak() (string, error) {
	once.Do(func() { path, err = build() })
	return path, err
}

func build() (string, error) {
	root, err := moduleRoot()
	if err != nil {
		return "", err
	}
	// One folder per checkout: worktrees of the same module build different
	// code and must not replace each other's binary mid-test.
	sum := sha256.Sum256([]byte(root))
	dir := filepath.Join(os.TempDir(), "soak-testbin-"+hex.EncodeToString(sum[:6]))
	if err := ownDir(dir); err != nil {
		return "", err
	}
	lock, err := os.OpenFile(filepath.Join(dir, "lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return "", fmt.Errorf("testbin: %w", err)
	}
	defer lock.Close() // releases the lock
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return "", fmt.Errorf("testbin: lock %s: %w", lock.Name(), err)
	}
	// go build writes the binary in its work folder (also under TMPDIR) and
	// renames it into place: a test of another package still running the
	// old binary keeps its inode.
	bin := filepath.Join(dir, "soak")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/soak")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("testbin: go build ./cmd/soak: %w\n%s", err, out)
	}
	return bin, nil
}

// moduleRoot is the nearest folder up from the current one holding go.mod.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("testbin: %w", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		up := filepath.Dir(dir)
		if up == dir {
			return "", errors.New("testbin: no go.mod above the current folder")
		}
		dir = up
	}
}

// ownDir makes dir (mode 0700) or checks that the one there is a real
// folder of this user only: a fixed name under /tmp must not let another
// user hand tests a binary of theirs.
func ownDir(dir string) error {
	if err := os.Mkdir(dir, 0o700); err != nil && !errors.Is(err, os.ErrExist) {
		return fmt.Errorf("testbin: %w", err)
	}
	fi, err := os.Lstat(dir)
	if err != nil {
		return fmt.Errorf("testbin: %w", err)
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !fi.IsDir() || !ok || int(st.Uid) != os.Getuid() || fi.Mode().Perm()&0o077 != 0 {
		return fmt.Errorf("testbin: %s is not a folder of this user with mode 0700; remove it", dir)
	}
	return nil
}

// Path is Soak for a test: the binary's path, or the test fails with the
// reason. Built on first use, so a run of tests that need no binary (-run,
// -short) does not pay for it.
func Path(t testing.TB) string {
	t.Helper()
	bin, err := Soak()
	if err != nil {
		t.Fatal(err)
	}
	return bin
}
