// Command soak runs load-and-soak scenarios against HTTP servers and finds
// connection leaks. Each subcommand lives in its own file and only turns
// flags into one call into a package.
package main

import (
	"errors"
	"fmt"
	"os"
	"runtime"

	"github.com/soak-dev/soak/runner"
	"github.com/spf13/cobra"
)

// exitError carries an exit code out of a command's RunE.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit status %d", e.code)
	}
	return e.err.Error()
}
func (e *exitError) Unwrap() error { return e.err }

// withCode wraps err so that soak exits with code; a nil err exits quietly.
func withCode(code int, err error) error { return &exitError{code: code, err: err} }

// subcommands holds each file's constructor, added in its init.
var subcommands []func() *cobra.Command

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:   "soak",
		Short: "Load and soak HTTP servers; find connection leaks",
		Long: `soak starts (or attaches to) a server, runs fake cloud backends for it, puts
load on it in phases, samples its goroutines, file descriptors and TCP
sockets (by layer, state and idle age), and checks that idle connections are
reclaimed within their timeouts and that nothing grows over hours.

Exit codes: 0 pass, 1 a check failed, 2 usage or scenario error,
3 the SUT or environment failed, 130 interrupted.`,
		Example: `  soak run                       # the built-in quick scenario
  soak run my.yaml --duration-scale 0.1
  soak validate my.yaml
  soak report runs/20261124-101500_quick
  soak compare runs/A runs/B --fail-on any-check-regressed`,
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       soakVersion(),
	}
	// soak --version prints what soak version prints.
	root.SetVersionTemplate("soak {{.Version}} (" + runtime.Version() + ", " + runtime.GOOS + "/" + runtime.GOARCH + ")\n")
	for _, mk := range subcommands {
		root.AddCommand(mk())
	}
	return root
}

func main() {
	err := newRootCmd().Execute()
	os.Exit(exitCode(err))
}

// exitCode prints err (if any) and returns the process exit code.
func exitCode(err error) int {
	if err == nil {
		return runner.ExitPass
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.err != nil {
			fmt.Fprintln(os.Stderr, "soak:", ee.err)
		}
		return ee.code
	}
	// Errors from cobra itself (unknown flag, bad args) are usage errors.
	fmt.Fprintln(os.Stderr, "soak:", err)
	return runner.ExitUsage
}
