// Package isolate runs a whole soak inside a fresh network namespace: soak
// re-executes itself in a new namespace (a new user namespace too when not
// root), where it brings up the loopback interface with the addresses the
// scenario lists. Fake backends, SUT nodes and load all live there, so
// nothing they open can reach or be reached from outside, even a server that
// binds every interface. The namespace goes away with its last process.
package isolate

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"syscall"
)

// EnvInside is set in the environment of the soak process that runs inside
// the namespace.
const EnvInside = "SOAK_ISOLATED"

// Inside reports whether this process is the isolated one.
func Inside() bool { return os.Getenv(EnvInside) == "1" }

// ErrUnsupported is returned where network namespaces cannot be made.
var ErrUnsupported = errors.New("network namespaces are not available")

// Enter puts this soak in a fresh network namespace with the loopback
// addresses given (default 127.0.0.1). Outside one, it re-runs this
// executable with args there (Reexec) and returns the child's exit code
// with done set: the caller exits with it. Inside, it brings lo up and
// returns done false: the caller goes on with the run.
func Enter(args, loopback []string) (code int, done bool, err error) {
	if !Inside() {
		code, err = Reexec(args)
		return code, true, err
	}
	return 0, false, SetUpLoopback(loopback)
}

// Reexec runs this executable again with args inside a new network
// namespace, forwards SIGINT and SIGTERM to it, waits, and returns its exit
// code. The child runs in its own process group, so a Ctrl-C from the
// terminal reaches only this process and the child gets it once, from
// here: the same as a kill -INT of this process, which it used to miss.
func Reexec(args []string) (int, error) {
	self, err := os.Executable()
	if err != nil {
		return 0, fmt.Errorf("isolate: find soak's own path: %w", err)
	}
	cmd := exec.Command(self, args...)
	cmd.Env = append(os.Environ(), EnvInside+"=1")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.SysProcAttr = namespaceAttr()
	cmd.SysProcAttr.Setpgid = true
	// Notify before Start, so no signal between the two is lost.
	term := make(chan os.Signal, 2)
	signal.Notify(term, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(term)
	if err := cmd.Start(); err != nil {
		return 0, explain(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	for {
		select {
		case s := <-term:
			_ = cmd.Process.Signal(s)
		case err := <-done:
			var ee *exec.ExitError
			if errors.As(err, &ee) {
				if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
					return 128 + int(ws.Signal()), nil
				}
				return ee.ExitCode(), nil
			}
			if err != nil {
				return 0, fmt.Errorf("isolate: %w", err)
			}
			return 0, nil
		}
	}
}

// explain turns a failed clone into an error that says how to fix it.
func explain(err error) error {
	if errors.Is(err, syscall.EPERM) || errors.Is(err, syscall.EINVAL) || errors.Is(err, syscall.ENOSPC) {
		return fmt.Errorf("%w: cannot create a network namespace (%v): run soak as root, or allow unprivileged user namespaces (sysctl kernel.unprivileged_userns_clone=1 and user.max_user_namespaces > 0; in a container, give it CAP_SYS_ADMIN)", ErrUnsupported, err)
	}
	return fmt.Errorf("isolate: start soak in a new network namespace: %w", err)
}
