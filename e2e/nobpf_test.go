package e2e

import (
	"os"
	"os/exec"
	"testing"

	"github.com/soak-dev/soak/internal/testbin"
)

// withoutBPF skips the test unless it can drop privileges (root and
// setpriv), and returns a command that runs the soak binary with args
// without CAP_BPF, CAP_PERFMON and CAP_SYS_ADMIN: the kernel event
// witness cannot load, so soak polls.
func withoutBPF(t *testing.T) func(args ...string) *exec.Cmd {
	t.Helper()
	if testing.Short() {
		t.Skip("runs the reference SUT")
	}
	if os.Getuid() != 0 {
		t.Skip("needs root, to drop the capabilities from it")
	}
	setpriv, err := exec.LookPath("setpriv")
	if err != nil {
		t.Skip("setpriv (util-linux) not installed")
	}
	bin := testbin.Path(t)
	return func(args ...string) *exec.Cmd {
		return exec.Command(setpriv, append([]string{"--inh-caps=-all", "--ambient-caps=-all",
			"--bounding-set=-bpf,-perfmon,-sys_admin", bin}, args...)...)
	}
}
