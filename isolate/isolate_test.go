package isolate

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The test binary plays both soaks: with envOuter set it is the outer soak
// (it calls Reexec), and with EnvInside set the isolated one, which says
// "ready" and its process group, counts the SIGINTs it gets and exits with 40 + that count.
const envOuter = "SOAK_ISOLATE_TEST_OUTER"

func TestMain(m *testing.M) {
	switch {
	case Inside():
		inner()
	case os.Getenv(envOuter) == "1":
		code, err := Reexec([]string{"inner"})
		if err != nil {
			fmt.Println("error:", err)
			if errors.Is(err, ErrUnsupported) {
				os.Exit(77)
			}
			os.Exit(1)
		}
		os.Exit(code)
	}
	os.Exit(m.Run())
}

func inner() {
	sigs := make(chan os.Signal, 8)
	signal.Notify(sigs, os.Interrupt)
	fmt.Println("ready", syscall.Getpgrp())
	n := 0
	for {
		select {
		case <-sigs:
			n++
		case <-time.After(500 * time.Millisecond):
			if n > 0 {
				os.Exit(40 + n)
			}
		}
	}
}

// TestSignalsReachIsolatedSoak sends SIGINT the two ways it arrives: by
// kill to the outer soak's pid (the outer used to ignore it, so the inner
// run went on), and to the whole foreground process group as a terminal's
// Ctrl-C does (the inner must get it once, not twice: a second SIGINT
// skips the report).
func TestSignalsReachIsolatedSoak(t *testing.T) {
	for _, tc := range []struct {
		name  string
		group bool
	}{{"kill outer pid", false}, {"ctrl-c to process group", true}} {
		t.Run(tc.name, func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-test.run=^$")
			cmd.Env = append(os.Environ(), envOuter+"=1")
			cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
			out, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			defer cmd.Process.Kill()
			line, _ := bufio.NewReader(out).ReadString('\n')
			if strings.HasPrefix(line, "error:") {
				if cmd.Wait(); cmd.ProcessState.ExitCode() == 77 {
					t.Skip(line)
				}
				t.Fatal(line)
			}
			var pgrp int
			if _, err := fmt.Sscanf(line, "ready %d", &pgrp); err != nil {
				t.Fatalf("inner soak said %q", line)
			}
			target := cmd.Process.Pid
			if tc.group {
				// Two SIGINTs sent at once may merge into one, so the exit
				// code alone cannot show the inner soak is out of the group.
				if pgrp == target {
					t.Error("the inner soak is in the outer's process group: a Ctrl-C reaches it twice")
				}
				target = -target
			}
			if err := syscall.Kill(target, syscall.SIGINT); err != nil {
				t.Fatal(err)
			}
			done := make(chan struct{})
			go func() { cmd.Wait(); close(done) }()
			select {
			case <-done:
			case <-time.After(20 * time.Second):
				t.Fatal("the isolated soak did not get the SIGINT: still running after 20 s")
			}
			if got := cmd.ProcessState.ExitCode(); got != 41 {
				t.Errorf("exit code %d, want 41 (the inner soak got exactly one SIGINT)", got)
			}
		})
	}
}
