package probes

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/soak-dev/soak/record"
)

func TestNoSuchProcess(t *testing.T) {
	t.Parallel()
	// A pid above pid_max never exists.
	for _, pid := range []int{-1, 0, 1 << 30} {
		if _, err := NewSampler(Target{PID: pid}); err == nil {
			t.Errorf("pid %d: no error", pid)
		}
	}
	_, err := NewSampler(Target{PID: 1 << 30})
	if err == nil || !strings.Contains(err.Error(), "no process") {
		t.Errorf("err = %v, want one saying there is no such process", err)
	}
}

// A process that exits mid-run: Gone, a reason, and no more work.
func TestProcessExits(t *testing.T) {
	t.Parallel()
	h := startHelper(t, "server", nil)
	holdConns(t, h.addr, 2)
	s := newTestSampler(t, Target{Node: "sut", PID: h.cmd.Process.Pid,
		GoroutinesURL: "http://" + h.addr + "/debug/pprof/goroutine?debug=1",
		Layers:        []LayerRule{{Name: "client", LocalPorts: []int{h.port}}}})
	if smp, _ := sampleNow(t, s); smp.Gone || layer(smp, "client").Established() != 2 {
		t.Fatalf("first sample: gone=%v layers=%+v", smp.Gone, smp.Sockets)
	}
	h.cmd.Process.Kill()
	h.cmd.Wait()
	for i := range 2 {
		smp, _ := sampleNow(t, s)
		if !smp.Gone {
			t.Fatalf("sample %d after exit: not gone: %+v", i, smp)
		}
		if !containsPrefix(smp.Errors, "process: pid "+strconv.Itoa(h.cmd.Process.Pid)+" exited") {
			t.Errorf("errors = %v, want the exit named", smp.Errors)
		}
		if smp.Sockets != nil || smp.FDs != nil {
			t.Errorf("gone sample carries data: %+v", smp)
		}
	}
	if open := s.Close(); len(open) != 2 {
		t.Errorf("open at end = %d, want the 2 connections last seen", len(open))
	}
}

// A pprof endpoint that hangs is bounded by the fetch timeout; the sample
// falls back to metrics, then threads, and says why.
func TestEndpointFaults(t *testing.T) {
	t.Parallel()
	hang := make(chan struct{})
	defer close(hang)
	mux := http.NewServeMux()
	mux.HandleFunc("/hang", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-hang:
		case <-r.Context().Done():
		}
	})
	mux.HandleFunc("/garbage", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprint(w, "<html>\x00\xff not a profile\n1 @ 0x1\n")
	})
	mux.HandleFunc("/truncated", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprint(w, "goroutine profile: total 10\n3 @ 0x1\n#\t0x1\tmain.f+0x1\tf.go:1\n")
	})
	mux.HandleFunc("/metrics", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprint(w, "# HELP go_goroutines x\ngo_goroutines_total 1\ngo_goroutines 42\n")
	})
	mux.HandleFunc("/badmetrics", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprint(w, "go_goroutines NaN\n")
	})
	mux.HandleFunc("/500", func(w http.ResponseWriter, _ *http.Request) { http.Error(w, "no", 500) })
	srv := httptest.NewServer(mux)
	defer srv.Close()
	defer srv.CloseClientConnections()

	// The rows run at once (not as parallel subtests, which would hold
	// -parallel slots): the hang's timeout overlaps the others.
	var wg sync.WaitGroup
	defer wg.Wait()
	for _, tc := range []struct {
		name, pprof, metrics string
		source               string
		total                int // -1: the thread count
		errs                 []string
	}{
		{"hang then metrics", "/hang", "/metrics", record.SourceMetrics, 42, []string{"goroutines: pprof:"}},
		{"garbage then threads", "/garbage", "", record.SourceThreads, -1, []string{"goroutines: pprof:"}},
		{"truncated", "/truncated", "", record.SourceThreads, -1, []string{"goroutines: pprof:"}},
		{"bad metrics", "/500", "/badmetrics", record.SourceThreads, -1, []string{"goroutines: pprof:", "goroutines: metrics:"}},
		{"metrics only", "", "/metrics", record.SourceMetrics, 42, nil},
		{"nothing", "", "", record.SourceThreads, -1, nil},
	} {
		wg.Go(func() {
			t.Run(tc.name, func(t *testing.T) {
				tg := Target{Node: "self", PID: os.Getpid()}
				if tc.pprof != "" {
					tg.GoroutinesURL = srv.URL + tc.pprof
				}
				if tc.metrics != "" {
					tg.MetricsURL = srv.URL + tc.metrics
				}
				// The hang is bounded by the fetch timeout; the metrics fetch
				// that follows gets as long, and a loaded machine has needed
				// more than 1 s for it: the default, 2 s. The rows that do
				// not hang wait for no timeout: theirs is long.
				timeout := 10 * time.Second
				if tc.pprof == "/hang" {
					timeout = DefaultFetchTimeout
				}
				s := newTestSampler(t, tg, FetchTimeout(timeout))
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				defer cancel()
				smp, _ := s.Sample(ctx, time.Now())
				g := smp.Goroutines
				if g == nil || g.Source != tc.source {
					t.Fatalf("goroutines = %+v, want source %s", g, tc.source)
				}
				want := tc.total
				if want < 0 {
					want = smp.Process.Threads
				}
				if g.Total != want {
					t.Errorf("total = %d, want %d", g.Total, want)
				}
				if len(smp.Errors) != len(tc.errs) {
					t.Fatalf("errors = %q, want %d", smp.Errors, len(tc.errs))
				}
				for i, e := range tc.errs {
					if !strings.HasPrefix(smp.Errors[i], e) {
						t.Errorf("error %d = %q, want prefix %q", i, smp.Errors[i], e)
					}
				}
				if smp.Sockets == nil || smp.FDs == nil || smp.Process == nil {
					t.Errorf("the other probes must still report: %+v", smp)
				}
			})
		})
	}
}

// Another user's process: a clear error naming what is missing and how to fix it.
func TestPermissionDenied(t *testing.T) {
	t.Parallel()
	out := runAsNobody(t, "probe-as", "PID="+strconv.Itoa(os.Getpid()))
	for _, want := range []string{"cannot read /proc/", "permission denied", "uid 0", "CAP_SYS_PTRACE"} {
		if !strings.Contains(out, want) {
			t.Errorf("error %q does not mention %q", out, want)
		}
	}
}

// A SUT in a network namespace that soak (unprivileged) cannot enter: the
// error names CAP_SYS_ADMIN and the ways around it.
func TestNetNSWithoutPrivilege(t *testing.T) {
	t.Parallel()
	bin := publicTestBinary(t)
	if err := nobody(exec.Command("unshare", "-rn", "true")).Run(); err != nil {
		t.Skipf("unprivileged user namespaces are not allowed here (unshare -rn as nobody: %v)", err)
	}
	h := startHelperCmd(t, nobody(exec.Command("unshare", "-rn", bin, "-test.run=^$")), "netns", "K=1")
	out := runAsNobody(t, "probe-as", "PID="+strconv.Itoa(h.cmd.Process.Pid))
	for _, want := range []string{"network namespace", "CAP_SYS_ADMIN", "nsenter"} {
		if !strings.Contains(out, want) {
			t.Errorf("error %q does not mention %q", out, want)
		}
	}
}

// runAsNobody runs the test binary in a helper mode as uid 65534 and returns its output.
func runAsNobody(t *testing.T, mode string, env ...string) string {
	t.Helper()
	cmd := nobody(exec.Command(publicTestBinary(t), "-test.run=^$"))
	cmd.Env = append(append(os.Environ(), helperEnv+"="+mode), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Skipf("cannot run as nobody here: %v: %s", err, out)
	}
	t.Logf("as nobody: %s", out)
	return string(out)
}

func nobody(cmd *exec.Cmd) *exec.Cmd {
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	return cmd
}

// publicTestBinary copies the test binary where an unprivileged user can run it.
func publicTestBinary(t *testing.T) string {
	t.Helper()
	if os.Getuid() != 0 {
		t.Skip("needs root to run processes as another user")
	}
	dir, err := os.MkdirTemp("", "probes-perm")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	os.Chmod(dir, 0o755)
	bin := filepath.Join(dir, "probes.test")
	// A hard link costs nothing where a copy of the race-built binary
	// costs a tenth of a second or more; copy across file systems.
	if os.Link(os.Args[0], bin) == nil {
		return bin
	}
	data, err := os.ReadFile(os.Args[0])
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, data, 0o755); err != nil {
		t.Fatal(err)
	}
	return bin
}

func containsPrefix(ss []string, p string) bool {
	for _, s := range ss {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}

// A node whose pprof endpoint hangs does not delay another node's sample
// taken meanwhile (samplers share no lock), and is bounded by its fetch
// timeout. Asserted by order and lower bounds, not by how fast a loaded
// machine schedules: the hung node's timeout is a minute while the other
// samples, and the bounded one must only end, no sooner than its timeout.
func TestSlowNodeDoesNotDelayOthers(t *testing.T) {
	t.Parallel()
	hang, stop := make(chan struct{}), make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		release := stop // /forever: until the test ends
		if r.URL.Path == "/hung" {
			release = hang
		}
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(stop)
	hung := newTestSampler(t, Target{Node: "hung", PID: os.Getpid(), GoroutinesURL: srv.URL + "/hung"}, FetchTimeout(time.Minute))
	fast := newTestSampler(t, Target{Node: "fast", PID: os.Getpid()})
	hungDone := make(chan struct{})
	go func() {
		_, _ = hung.Sample(context.Background(), time.Now())
		close(hungDone)
	}()
	if smp, _ := fast.Sample(context.Background(), time.Now()); smp.Sockets == nil {
		t.Errorf("fast node: no sockets: %v", smp.Errors)
	}
	select {
	case <-hungDone:
		t.Error("the hung node's sample ended before its endpoint answered or its 1-minute timeout")
	default: // the fast sample was taken while the other node hung
	}
	close(hang)
	<-hungDone

	const timeout = 300 * time.Millisecond
	slow := newTestSampler(t, Target{Node: "slow", PID: os.Getpid(), GoroutinesURL: srv.URL + "/forever"}, FetchTimeout(timeout))
	start := time.Now()
	done := make(chan record.Sample, 1)
	go func() {
		smp, _ := slow.Sample(context.Background(), time.Now())
		done <- smp
	}()
	var smp record.Sample
	select {
	case smp = <-done:
	case <-time.After(time.Minute): // a hang guard, not a timing bound
		t.Fatal("the slow node's sample did not end: the fetch timeout does not bound it")
	}
	if d := time.Since(start); d < timeout {
		t.Errorf("slow node's sample took %v, less than the %v fetch timeout", d, timeout)
	}
	if !containsPrefix(smp.Errors, "goroutines: pprof:") || smp.Goroutines.Source != record.SourceThreads {
		t.Errorf("slow node: errors %v, goroutines %+v", smp.Errors, smp.Goroutines)
	}
}
