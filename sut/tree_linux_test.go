package sut

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// envFakeSoak makes the test binary play soak: start the wrapper node given
// in the environment, say "started", and wait to be killed.
const envFakeSoak = "SOAK_SUT_TEST_FAKE_SOAK"

// fakeSoak runs before goleak's TestMain when envFakeSoak is set.
func fakeSoak() {
	p, err := Start(Spec{Name: "n", Argv: []string{"sh", "-c", os.Getenv(envFakeSoak)}, LogPath: os.DevNull})
	if err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	fmt.Printf("started %q\n", p.Fallback)
	select {}
}

// wrapper is a node command as people write them: a shell that starts a
// server which calls setsid (so it leaves the node's process group and
// session), then goes on with something else. marker finds the server.
func wrapper(t *testing.T) (cmd, marker string) {
	marker = fmt.Sprintf("3000.%d", time.Now().UnixNano()%1e9)
	t.Cleanup(func() {
		for _, pid := range findProcs(marker) {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	})
	return "setsid sleep " + marker + " & sleep 3000; echo done", marker
}

// findProcs returns the processes with marker in their command line.
func findProcs(marker string) []int {
	var pids []int
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err == nil && bytes.Contains(b, []byte(marker)) && alive(pid) {
			pids = append(pids, pid)
		}
	}
	return pids
}

// waitProcs waits up to 10 s for the marked processes to be (want true)
// or not be (want false) there; it returns the pids last seen.
func waitProcs(marker string, want bool) []int {
	var pids []int
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if pids = findProcs(marker); (len(pids) > 0) == want {
			break
		}
	}
	return pids
}

// TestNoOrphanAfterStop: a server that called setsid outlived a clean stop
// when only the process group was signalled. Each mechanism alone must
// hold too, as either may be missing.
func TestNoOrphanAfterStop(t *testing.T) {
	for _, tc := range []struct {
		name          string
		pidNS, cgroup bool
	}{{"both", true, true}, {"PID namespace", true, false}, {"cgroup", false, true}} {
		t.Run(tc.name, func(t *testing.T) {
			cmd, marker := wrapper(t)
			p, err := start(Spec{Name: "n", Argv: []string{"sh", "-c", cmd}, LogPath: filepath.Join(t.TempDir(), "n.log")},
				func(node string) *tree {
					tr := newTree(node)
					tr.pidNS = tr.pidNS && tc.pidNS
					if !tc.cgroup {
						tr.removeCgroup()
					}
					return tr
				})
			if err != nil {
				t.Fatal(err)
			}
			if tc.pidNS && strings.Contains(p.Fallback, "PID namespace:") || tc.cgroup && strings.Contains(p.Fallback, "cgroup v2:") {
				_ = p.Stop(time.Second)
				t.Skip("not available here: " + p.Fallback)
			}
			if len(waitProcs(marker, true)) == 0 {
				t.Fatal("the setsid server never started")
			}
			_ = p.Stop(2 * time.Second)
			if left := waitProcs(marker, false); len(left) > 0 {
				t.Errorf("pids %v (the setsid server) outlived the node's stop", left)
			}
		})
	}
}

// TestNoOrphanAfterSoakKilled: SIGKILL of soak took only the node's first
// process along (Pdeathsig); its setsid server lived on.
func TestNoOrphanAfterSoakKilled(t *testing.T) {
	cmd, marker := wrapper(t)
	soak := exec.Command(os.Args[0], "-test.run=^$")
	soak.Env = append(os.Environ(), envFakeSoak+"="+cmd)
	out, err := soak.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := soak.Start(); err != nil {
		t.Fatal(err)
	}
	defer soak.Wait()
	defer soak.Process.Kill()
	line, _ := bufio.NewReader(out).ReadString('\n')
	fallback, ok := strings.CutPrefix(strings.TrimSpace(line), "started ")
	if !ok {
		t.Fatalf("fake soak said %q", line)
	}
	if fallback, _ = strconv.Unquote(fallback); strings.Contains(fallback, "PID namespace:") {
		t.Skip("no PID namespace here, nothing kills the tree when soak is SIGKILLed: " + fallback)
	}
	if len(waitProcs(marker, true)) == 0 {
		t.Fatal("the setsid server never started")
	}
	if err := soak.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if left := waitProcs(marker, false); len(left) > 0 {
		t.Errorf("pids %v (the setsid server) outlived a SIGKILLed soak", left)
	}
}
