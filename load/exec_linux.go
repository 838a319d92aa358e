package load

import (
	"os/exec"
	"syscall"
)

// setGroup runs cmd in its own process group, killed with soak (Pdeathsig),
// and has its timeout kill the whole group, not only its first process.
func setGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
}
