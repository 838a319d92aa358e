package sut

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// logKillHelper names the log a helper process (this test binary) writes
// through a capped node, until it is SIGKILLed.
const logKillHelper = "SOAK_SUT_LOGKILL_LOG"

// TestLogTailSurvivesSIGKILL: past the cap, the tail lived in memory until
// Close, so a SIGKILLed soak left only the head. A helper soak (this test
// binary) runs a node that writes past a 64 KiB cap, then 100,000 numbered
// lines and END; once the log shows END (or after 10 s) the helper is
// SIGKILLed. The log must hold the head, a note of what was dropped, and
// the last lines in order.
func TestLogTailSurvivesSIGKILL(t *testing.T) {
	if path := os.Getenv(logKillHelper); path != "" {
		_, err := Start(Spec{Name: "n", LogPath: path, LogLimit: 64 << 10, Argv: []string{"sh", "-c",
			`echo FIRST; head -c 300000 /dev/zero | tr '\0' x; echo; i=0; while [ $i -lt 100000 ]; do echo RECENT-$i; i=$((i+1)); done; echo END; exec sleep 60`}})
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Minute) // until killed
		return
	}
	t.Parallel()
	log := filepath.Join(t.TempDir(), "n.log")
	cmd := exec.Command(os.Args[0], "-test.run=^TestLogTailSurvivesSIGKILL$")
	cmd.Env = append(os.Environ(), logKillHelper+"="+log)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if b, _ := os.ReadFile(log); strings.HasSuffix(string(b), "\nEND\n") {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	_ = cmd.Process.Signal(syscall.SIGKILL)
	_ = cmd.Wait()
	time.Sleep(100 * time.Millisecond) // the node dies with its parent (Pdeathsig)
	b, err := os.ReadFile(log)
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	if !strings.HasPrefix(s, "FIRST\n") {
		t.Errorf("log lost its head: %.40q", s)
	}
	if !strings.Contains(s, "[soak: log limit reached: ") || !strings.Contains(s, " bytes dropped here") {
		t.Fatalf("log of a SIGKILLed soak has no note of what was dropped (%d bytes; ends %q)", len(b), s[max(0, len(s)-60):])
	}
	if len(b) > 64<<10+liveNoteLen {
		t.Errorf("log is %d bytes, cap 64 KiB", len(b))
	}
	tail := s[strings.Index(s, "[soak: log limit reached"):]
	if !strings.HasSuffix(tail, "RECENT-99998\nRECENT-99999\nEND\n") {
		t.Errorf("log of a SIGKILLed soak does not end with the node's last lines: ends %q", tail[max(0, len(tail)-60):])
	}
	// The tail after the note is the output's recent bytes in order.
	recent := regexp.MustCompile(`RECENT-(\d+)\n`)
	prev := -1
	for _, m := range recent.FindAllStringSubmatch(tail, -1) {
		n, _ := strconv.Atoi(m[1])
		if prev >= 0 && n != prev+1 {
			t.Errorf("tail out of order: RECENT-%d after RECENT-%d", n, prev)
			break
		}
		prev = n
	}
}
