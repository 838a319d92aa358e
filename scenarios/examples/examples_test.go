// Package examples_test runs the example scenarios against real servers
// nobody here wrote (nginx and HAProxy from Debian's packages), healthy and
// misconfigured, and checks soak's verdict on each.
//
// The runs go in parallel, -parallel (GOMAXPROCS) at a time, not all five
// at once: haproxy-healthy's backend purge (halving the idle pool every
// 1 s, 6 s allowed) ended 0.4 s past its limit beside four other runs on
// 2 cores.
package examples_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/soak-dev/soak/internal/testbin"
	"github.com/soak-dev/soak/record"
)

// need skips the test when a server binary is missing, saying how to get it.
func need(t *testing.T, bin, pkg string) string {
	t.Helper()
	for _, p := range []string{bin, "/usr/sbin/" + bin} {
		if path, err := exec.LookPath(p); err == nil {
			return path
		}
	}
	t.Skipf("%s is not installed: apt-get install %s (make deps-test installs it when run as root)", bin, pkg)
	return ""
}

// runScenario runs soak on file and returns its exit code and verdict.
func runScenario(t *testing.T, file string, args ...string) (int, record.Verdict, string) {
	t.Helper()
	out := t.TempDir()
	cmd := exec.Command(testbin.Path(t), append([]string{"run", file, "--out", out, "--quiet"}, args...)...)
	cmd.Env = append(os.Environ(), "PATH=/usr/sbin:"+os.Getenv("PATH"))
	output, err := cmd.CombinedOutput()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	var v record.Verdict
	m, _ := filepath.Glob(filepath.Join(out, "*", record.VerdictFile))
	if len(m) != 1 {
		t.Fatalf("no verdict.json (exit %d):\n%s", code, output)
	}
	b, _ := os.ReadFile(m[0])
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	return code, v, string(output)
}

func statuses(v record.Verdict) map[string]string {
	s := map[string]string{}
	for _, c := range v.Checks {
		s[c.Name] = c.Status
	}
	return s
}

// checkVerdict asserts each named check's status; goroutine checks of a
// non-Go server must be inconclusive, never failed.
func checkVerdict(t *testing.T, v record.Verdict, output string, want map[string]string) {
	t.Helper()
	got := statuses(v)
	for name, status := range want {
		if got[name] != status {
			t.Errorf("%s = %q, want %q", name, got[name], status)
		}
	}
	for _, c := range v.Checks {
		if strings.Contains(c.Name, "goroutines") && c.Status != record.StatusInconclusive {
			t.Errorf("%s = %s on a non-Go server; want inconclusive (%s)", c.Name, c.Status, c.Message)
		}
	}
	if t.Failed() {
		t.Logf("soak output:\n%s", output)
	}
}

func TestRealServers(t *testing.T) {
	for _, tc := range []struct {
		file, bin, pkg string
		code           int
		want           map[string]string
	}{
		{"nginx-healthy.yaml", "nginx", "nginx-light", 0, map[string]string{
			"reclaim/client": "pass", "reclaim/backend": "pass", "drain/backend": "pass", "close_wait/client": "pass"}},
		{"nginx-misconfigured.yaml", "nginx", "nginx-light", 1, map[string]string{
			"reclaim/client": "fail", "reclaim/backend": "fail", "drain/backend": "fail"}},
		{"haproxy-healthy.yaml", "haproxy", "haproxy", 0, map[string]string{
			"reclaim/client": "pass", "reclaim/backend": "pass", "drain/backend": "pass", "close_wait/client": "pass"}},
		{"haproxy-misconfigured.yaml", "haproxy", "haproxy", 1, map[string]string{
			"reclaim/client": "fail", "reclaim/backend": "fail", "drain/backend": "fail"}},
	} {
		t.Run(strings.TrimSuffix(tc.file, ".yaml"), func(t *testing.T) {
			t.Parallel()
			need(t, tc.bin, tc.pkg)
			code, v, output := runScenario(t, tc.file)
			if code != tc.code {
				t.Errorf("exit %d, want %d", code, tc.code)
			}
			checkVerdict(t, v, output, tc.want)
		})
	}
}

// TestAttachToNginx starts nginx itself and has soak attach to its pid:
// soak probes it but neither starts nor stops it.
func TestAttachToNginx(t *testing.T) {
	t.Parallel()
	nginx := need(t, "nginx", "nginx-light")
	dir := t.TempDir()
	port := freePort(t)
	conf := filepath.Join(dir, "nginx.conf")
	os.WriteFile(conf, []byte(fmt.Sprintf(`daemon off; master_process off; worker_processes 1;
pid %[1]s/nginx.pid; error_log stderr warn;
events { worker_connections 1024; }
http { access_log off; keepalive_timeout 2s;
  client_body_temp_path %[1]s/body; proxy_temp_path %[1]s/proxy; fastcgi_temp_path %[1]s/fcgi;
  uwsgi_temp_path %[1]s/uwsgi; scgi_temp_path %[1]s/scgi;
  server { listen 127.0.0.1:%[2]d; location / { return 200 "ok\n"; } } }
`, dir, port)), 0o644)
	cmd := exec.Command(nginx, "-p", dir+"/", "-c", conf, "-e", "stderr")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Signal(syscall.SIGTERM); cmd.Wait() }()
	waitListening(t, port)

	sc := filepath.Join(dir, "attach.yaml")
	os.WriteFile(sc, []byte(fmt.Sprintf(`name: attach-nginx
interval: 500ms
nodes:
  nginx: {attach: {pid: %d, url: "http://127.0.0.1:%d"}, engine: nginx}
layers:
  client: {node: nginx, listen: nginx, idle_timeout: 2s}
phases:
  - {name: load, steady: {rate: 100/s, duration: 3s, connections: 8}}
  - {name: hold, idle: {connections: 30, duration: 3s}}
  - {name: rest, quiet: {duration: 3s}}
`, cmd.Process.Pid, port)), 0o644)
	code, v, output := runScenario(t, sc)
	if code != 0 {
		t.Errorf("exit %d, want 0", code)
	}
	checkVerdict(t, v, output, map[string]string{"reclaim/client": "pass", "drain/client": "pass"})
	if err := cmd.Process.Signal(syscall.Signal(0)); err != nil {
		t.Errorf("soak stopped the attached nginx: %v", err)
	}
}

func freePort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func waitListening(t *testing.T, port int) {
	t.Helper()
	for end := time.Now().Add(10 * time.Second); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
		if c, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(port)); err == nil {
			c.Close()
			return
		}
	}
	t.Fatalf("nothing listens on port %d", port)
}
