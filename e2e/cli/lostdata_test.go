package cli

import (
	"strings"
	"syscall"
	"testing"

	"github.com/soak-dev/soak/internal/clitest"
)

// A run on a full filesystem (a 96 KiB tmpfs: samples, plots and meta.json
// stop fitting mid-run) exits 3 and its verdict line says what is missing;
// it never reads as a pass.
func TestRunFullDisk(t *testing.T) {
	t.Parallel() // mostly waiting on short runs of their own
	out := t.TempDir()
	if err := syscall.Mount("tmpfs", out, "tmpfs", 0, "size=96k"); err != nil {
		t.Skipf("cannot mount a small tmpfs (needs root): %v", err)
	}
	t.Cleanup(func() { syscall.Unmount(out, syscall.MNT_DETACH) })
	code, output := clitest.Run(t, "run", "testdata/mini.yaml", "--out", out, "--quiet")
	if code != 3 {
		t.Fatalf("exit %d on a full disk, want 3\n%s", code, output)
	}
	for _, want := range []string{"verdict: error (exit 3): the run lost data it needed:", "no space left on device", "LOST"} {
		if !strings.Contains(output, want) {
			t.Errorf("output lacks %q:\n%s", want, output)
		}
	}
	if strings.Contains(output, "verdict: pass") || strings.Contains(output, "verdict: inconclusive") {
		t.Errorf("a run that lost data shows a verdict of its checks:\n%s", output)
	}
}
