package runner

import (
	"context"
	"fmt"
	"net"
	"net/http/httptest"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/soak-dev/soak/exporter"
	"github.com/soak-dev/soak/fakebackend"
	"github.com/soak-dev/soak/load"
	"github.com/soak-dev/soak/probes"
	"github.com/soak-dev/soak/record"
	"github.com/soak-dev/soak/scenarios"
)

// farNode starts this binary as an HTTP node soak does not start, holds
// conns idle connections to it, and serves its metrics from an
// in-process exporter (soak probe --listen) on loopback. It returns the
// node's URL and the exporter's.
func farNode(t *testing.T, conns int) (nodeURL, metricsURL string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	bin, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin)
	cmd.Env = append(os.Environ(), "RUNNER_TEST_NODE="+addr)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	var held []net.Conn
	for deadline := time.Now().Add(10 * time.Second); len(held) < conns; {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			if time.Now().After(deadline) {
				t.Fatalf("node at %s: %v", addr, err)
			}
			time.Sleep(20 * time.Millisecond)
			continue
		}
		held = append(held, c)
	}
	t.Cleanup(func() {
		for _, c := range held {
			c.Close()
		}
	})
	port := ln.Addr().(*net.TCPAddr).Port
	c, err := exporter.New([]exporter.Target{{Node: "far", PID: cmd.Process.Pid,
		Probe: probes.Target{Layers: []probes.LayerRule{{Name: "client", LocalPorts: []int{port}}}}}}, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Open(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	h, err := exporter.Handler(c)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return "http://" + addr, srv.URL + "/metrics"
}

// TestRemoteExporterNode: a mixed run, one node started and probed by
// soak (a fake sampler) and one remote node read from its exporter each
// tick. The remote node's samples land in samples.jsonl like a local
// node's, and checks judge them: the layer's 3 idle connections pass a
// limit of 10 and fail one of 2.
func TestRemoteExporterNode(t *testing.T) {
	t.Parallel()
	nodeURL, metricsURL := farNode(t, 3)
	bin, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		limit    int
		wantExit int
		status   string
	}{{10, ExitPass, record.StatusPass}, {2, ExitCheckFailed, record.StatusFail}} {
		t.Run(fmt.Sprint("limit ", tc.limit), func(t *testing.T) {
			t.Parallel()
			text := fmt.Sprintf(`name: mixed
interval: 500ms
nodes:
  local:
    command: [%q]
    env: {RUNNER_TEST_NODE: "{{.Nodes.local.Addr}}"}
    stop_grace: 1s
  far:
    remote: {exporter: %q, url: %q}
layers:
  client: {node: far, listen: far, idle_timeout: 30s}
phases:
  - {name: one, quiet: {duration: 2s}}
expect:
  - max: {series: sockets.client, node: far, value: %d}
  - reclaim: {layer: client}
`, bin, metricsURL, nodeURL, tc.limit)
			sc, err := scenarios.ParseScenario("mixed.yaml", []byte(text))
			if err != nil {
				t.Fatal(err)
			}
			f := newFakes(time.Second)
			skip := make(chan struct{})
			close(skip)
			res, err := Run(context.Background(), Options{Scenario: sc, ScenarioYAML: []byte(text), ScenarioPath: "mixed.yaml",
				OutDir: t.TempDir(), ProgressMode: "quiet", SkipReport: skip,
				newPhase:   func(*scenarios.Phase) (load.Phase, error) { return fakePhase{f}, nil },
				newSampler: func(probes.Target, ...probes.Option) (sampler, error) { return fakeSampler{f}, nil },
				newBackend: func(_ string, cfg *scenarios.Backend, _ record.Sink) (fakebackend.Backend, error) {
					return &fakeBackend{f: f, kind: cfg.Kind}, nil
				}})
			if err != nil {
				t.Fatal(err)
			}
			byName := map[string]record.CheckResult{}
			for _, c := range res.Verdict.Checks {
				byName[c.Name] = c
			}
			mx := byName["max/sockets.client/far"]
			if res.ExitCode != tc.wantExit || mx.Status != tc.status || mx.Value != 3 {
				t.Errorf("exit %d, max check %+v; want exit %d, %s on 3 sockets (%s)", res.ExitCode, mx, tc.wantExit, tc.status, res.Cause)
			}
			if rc := byName["reclaim/client"]; rc.Status != record.StatusPass || rc.Node != "far" {
				t.Errorf("reclaim %+v: want a pass on the remote node's idle ages", rc)
			}
			run, err := record.Open(res.Dir)
			if err != nil {
				t.Fatal(err)
			}
			far, local := 0, 0
			err = run.EachSample(func(s record.Sample) error {
				switch s.Node {
				case "far":
					// A scrape slower than the tick's deadline on a busy
					// machine is a sample with an error: data, skipped here.
					if len(s.Errors) == 1 && s.Sockets == nil {
						t.Logf("far sample: %s", s.Errors[0])
						break
					}
					if len(s.Errors) > 0 || s.Sockets == nil || s.Sockets.Layers["client"].Sides["server"] != 3 {
						return fmt.Errorf("far sample %+v", s)
					}
					far++
				case "local":
					local++
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if far < 2 || local < 2 {
				t.Errorf("samples: far %d, local %d; want a few of each", far, local)
			}
			if rm := run.Meta.Nodes["far"].Remote; rm == nil || rm.Source != "exporter" || rm.URL != metricsURL || run.Meta.ProbeMethods["sockets/far"] != "remote-exporter" {
				t.Errorf("meta: far %+v, methods %v", run.Meta.Nodes["far"], run.Meta.ProbeMethods)
			}
		})
	}
}
