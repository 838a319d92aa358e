package sut

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	if os.Getenv(envFakeSoak) != "" {
		fakeSoak()
	}
	goleak.VerifyTestMain(m)
}

func TestStartStopKillsProcessGroup(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	// The shell starts a child that ignores SIGTERM: Stop must SIGKILL the whole group.
	p, err := Start(Spec{Name: "n", Argv: []string{"sh", "-c", "trap '' TERM; sleep 60 & echo started; wait"}, LogPath: filepath.Join(dir, "n.log")})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return strings.Contains(Tail(p.LogPath, 5), "started") })
	if err := p.Stop(300 * time.Millisecond); err == nil {
		t.Error("Stop of a process ignoring SIGTERM: got nil error, want 'killed' note")
	}
	select {
	case <-p.Exited():
	default:
		t.Fatal("process still running after Stop")
	}
	if got := p.ExitState(); !strings.Contains(got, "signal") {
		t.Errorf("ExitState = %q, want killed by signal", got)
	}
	if !p.Stopping() {
		t.Error("Stopping() = false after Stop")
	}
}

func TestExitIsNoticedWithStatusAndLog(t *testing.T) {
	t.Parallel()
	p, err := Start(Spec{Name: "n", Argv: []string{"sh", "-c", "echo boom >&2; exit 7"}, LogPath: filepath.Join(t.TempDir(), "n.log")})
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.Exited():
	case <-time.After(10 * time.Second):
		t.Fatal("exit not noticed")
	}
	if got, want := p.ExitState(), "exited with status 7"; got != want {
		t.Errorf("ExitState = %q, want %q", got, want)
	}
	if got := p.LogTail(5); got != "boom" {
		t.Errorf("LogTail = %q, want boom", got)
	}
	if p.Stopping() {
		t.Error("Stopping() = true for a process nobody stopped")
	}
}

func TestStartErrors(t *testing.T) {
	t.Parallel()
	if _, err := Start(Spec{Name: "n", Argv: []string{"/no/such/binary"}, LogPath: filepath.Join(t.TempDir(), "l")}); err == nil || !strings.Contains(err.Error(), "node n") {
		t.Errorf("missing binary: err = %v, want an error naming the node", err)
	}
	if _, err := Start(Spec{Name: "n", LogPath: filepath.Join(t.TempDir(), "l")}); err == nil {
		t.Error("empty command: want error")
	}
}

func TestWaitReady(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer srv.Close()
	p, err := Start(Spec{Name: "n", Argv: []string{"sleep", "30"}, LogPath: filepath.Join(t.TempDir(), "l")})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Stop(time.Second)
	if err := WaitReady(context.Background(), p, srv.URL, 5*time.Second); err != nil {
		t.Errorf("http ready: %v", err)
	}
	if err := WaitReady(context.Background(), p, "tcp://"+srv.Listener.Addr().String(), 5*time.Second); err != nil {
		t.Errorf("tcp ready: %v", err)
	}
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := l.Addr().String()
	l.Close()
	err = WaitReady(context.Background(), p, "tcp://"+addr, 300*time.Millisecond)
	if err == nil || !strings.Contains(err.Error(), "not ready after") {
		t.Errorf("closed port: err = %v, want 'not ready after'", err)
	}
}

func TestWaitReadyNoticesDeath(t *testing.T) {
	t.Parallel()
	p, err := Start(Spec{Name: "n", Argv: []string{"sh", "-c", "echo cannot bind >&2; exit 1"}, LogPath: filepath.Join(t.TempDir(), "l")})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	err = WaitReady(context.Background(), p, "tcp://127.0.0.1:1", 20*time.Second)
	if err == nil || !strings.Contains(err.Error(), "exited with status 1") || !strings.Contains(err.Error(), "cannot bind") {
		t.Errorf("err = %v, want exit status and log tail", err)
	}
	if time.Since(start) > 10*time.Second {
		t.Error("WaitReady waited for the timeout instead of noticing the exit")
	}
}

func TestAttach(t *testing.T) {
	t.Parallel()
	p, err := Start(Spec{Name: "n", Argv: []string{"sleep", "30"}, LogPath: filepath.Join(t.TempDir(), "l")})
	if err != nil {
		t.Fatal(err)
	}
	pidFile := filepath.Join(t.TempDir(), "pid")
	os.WriteFile(pidFile, []byte("  "+itoa(p.PID)+"\n"), 0o644)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	a, err := Attach(ctx, "a", 0, pidFile)
	if err != nil {
		t.Fatal(err)
	}
	if a.Stop(time.Second) != nil {
		t.Error("Stop of an attached process must not fail")
	}
	select {
	case <-p.Exited():
		t.Fatal("Stop of an attached process killed it")
	case <-time.After(300 * time.Millisecond):
	}
	p.Stop(time.Second)
	select {
	case <-a.Exited():
	case <-time.After(5 * time.Second):
		t.Fatal("attached process exit not noticed")
	}
	if _, err := Attach(ctx, "a", 999999999, ""); !errors.Is(err, ErrNoProcess) {
		t.Errorf("missing pid: err = %v, want ErrNoProcess", err)
	}
	if _, err := Attach(ctx, "a", 0, filepath.Join(t.TempDir(), "nope")); err == nil {
		t.Error("missing pid file: want error")
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for end := time.Now().Add(10 * time.Second); time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatal("condition not met in 10s")
}
