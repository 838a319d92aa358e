package main

import (
	"io"
	"net/http"
	"os"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestProbeListenUsage(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"probe", "--listen", "127.0.0.1:0"}, "--listen needs --pid, --pid-file, --process-name or --cgroup"},
		{[]string{"probe", "--pid-file", "/nonexistent"}, "--process-name and --cgroup need --listen"},
		{[]string{"probe", "--pid", "1", "--process-name", "nginx"}, "--process-name and --cgroup need --listen"},
		{[]string{"probe", "--pid", "1", "--pid", "2"}, "several only with --listen"},
		{[]string{"probe", "--listen", "127.0.0.1:0", "--pid", "1", "--pid", "2", "--node", "x"}, "--node names one process"},
		{[]string{"probe", "--listen", "127.0.0.1:0", "--pid", "-4"}, "bad --pid"},
	} {
		code, out := soak(t, tc.args...)
		if code != 2 || !strings.Contains(out, tc.want) {
			t.Errorf("soak %v: exit %d, output %q; want exit 2 containing %q", tc.args, code, out, tc.want)
		}
	}
}

// soak probe --listen serves the test process's metrics until interrupted.
func TestProbeListenServes(t *testing.T) {
	cmd, out := startSoak(t, "probe", "--listen", "127.0.0.1:0", "--pid", strconv.Itoa(os.Getpid()), "--node", "me")
	if !out.waitFor("/metrics\n", 20*time.Second) {
		t.Fatalf("no address printed: %q", out.String())
	}
	url := regexp.MustCompile(`http://\S+/metrics`).FindString(out.String())
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{
		`soak_scrape_probe_success{node="me",pid="` + strconv.Itoa(os.Getpid()) + `",probe="sockets"} 1`,
		`soak_process_resident_memory_bytes{node="me",pid="` + strconv.Itoa(os.Getpid()) + `"}`,
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("metrics lack %q:\n%s", want, body)
		}
	}
	cmd.Process.Signal(syscall.SIGINT)
	err = cmd.Wait()
	if code := cmd.ProcessState.ExitCode(); code != 130 {
		t.Errorf("after SIGINT: exit %d (%v), want 130; output %q", code, err, out.String())
	}
}
