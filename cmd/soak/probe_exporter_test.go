package main

import (
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/soak-dev/soak/internal/clitest"
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
		{[]string{"probe", "--pid", "1", "--scenario", "quick", "--layer", "a=local:1", "--node", "proxy"}, "--scenario and --layer both give layer rules"},
		{[]string{"probe", "--pid", "1", "--scenario", "quick"}, "--scenario needs --node"},
		{[]string{"probe", "--pid", "1", "--scenario", "quick", "--node", "proxy"}, "node proxy has no fixed address"},
	} {
		code, out := clitest.Run(t, tc.args...)
		if code != 2 || !strings.Contains(out, tc.want) {
			t.Errorf("soak %v: exit %d, output %q; want exit 2 containing %q", tc.args, code, out, tc.want)
		}
	}
}

// soak probe --scenario F --node N classifies the process's sockets by
// the scenario's layers: this test process holds an idle connection to
// its own listener, which the scenario names as node proxy's url.
func TestProbeScenarioLayers(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	path := filepath.Join(t.TempDir(), "remote.yaml")
	text := `name: r
nodes:
  proxy: {remote: {exporter: "http://127.0.0.1:9469/metrics", url: "http://` + ln.Addr().String() + `"}}
layers:
  client: {node: proxy, listen: proxy, idle_timeout: 5s}
phases: [{name: q, quiet: {duration: 1s}}]
`
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out := clitest.Run(t, "probe", "--pid", strconv.Itoa(os.Getpid()), "--once", "--json", "--scenario", path, "--node", "proxy")
	if code != 0 || !strings.Contains(out, `"client":{"states":{"ESTABLISHED":1}`) {
		t.Errorf("exit %d, output %s; want the accepted end in layer client", code, out)
	}
}

// soak probe --listen serves the test process's metrics until interrupted.
func TestProbeListenServes(t *testing.T) {
	cmd, out := clitest.Start(t, "probe", "--listen", "127.0.0.1:0", "--pid", strconv.Itoa(os.Getpid()), "--node", "me")
	if !out.WaitFor("/metrics\n", 20*time.Second) {
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
