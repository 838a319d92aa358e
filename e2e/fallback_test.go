package e2e

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/soak-dev/soak/record"
	"github.com/soak-dev/soak/runner"
)

// TestFallbackWithoutBPF denies soak the kernel event witness: the soak
// binary runs the matrix scenario under setpriv with CAP_BPF, CAP_PERFMON
// and CAP_SYS_ADMIN out of its bounding set (root otherwise). The run must
// say it polls and why, name polling in meta.json, and still reach the
// matrix's verdicts: the healthy build passes, the proxy without an idle
// timeout fails reclaim/client.
func TestFallbackWithoutBPF(t *testing.T) {
	t.Parallel() // after the matrix, whose healthy row must run alone
	soak := withoutBPF(t)
	for _, c := range []matrixCase{matrix[0], matrix[1]} {
		t.Run(leakName(c.leak), func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			sc := filepath.Join(dir, "matrix.yaml")
			pl := ""
			if c.node == "proxy" {
				pl = c.leak
			}
			if err := os.WriteFile(sc, []byte(matrixScenario(pl, "")), 0o644); err != nil {
				t.Fatal(err)
			}
			cmd := soak("run", sc, "--out", dir, "--quiet")
			var stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stderr, &stderr
			err := cmd.Run()
			code := 0
			var ee *exec.ExitError
			if errors.As(err, &ee) {
				code = ee.ExitCode()
			} else if err != nil {
				t.Fatal(err)
			}
			out := stderr.String()
			runs, _ := filepath.Glob(filepath.Join(dir, "*_matrix"))
			if len(runs) != 1 {
				t.Fatalf("exit %d, %d run directories:\n%s", code, len(runs), out)
			}
			run, err := record.Open(runs[0])
			if err != nil {
				t.Fatal(err)
			}
			meta := run.Meta
			for _, node := range []string{"proxy", "target"} {
				if got := meta.ProbeMethods["events/"+node]; got != "polling" {
					t.Errorf("meta.json probe_methods events/%s = %q, want polling", node, got)
				}
				want := "node " + node + ": connections' lives from polling only"
				if !strings.Contains(out, want) || !strings.Contains(out, "needs CAP_BPF and CAP_PERFMON") {
					t.Errorf("output lacks %q and the capabilities:\n%s", want, out)
				}
			}
			for _, l := range strings.Split(out, "\n") {
				if strings.Contains(l, "not kernel events") || strings.Contains(l, "warning") {
					t.Logf("soak said: %s", l)
				}
			}
			v, err := run.Verdict()
			if err != nil {
				t.Fatal(err)
			}
			var ck record.CheckResult
			for _, k := range v.Checks {
				if k.Name == "reclaim/client" {
					ck = k
				}
			}
			t.Logf("%s: exit %d, verdict %s; reclaim/client %s: %s", leakName(c.leak), code, v.Status, ck.Status, ck.Message)
			switch {
			case c.check == "" && (code != runner.ExitPass || v.Status != record.StatusPass):
				t.Errorf("healthy build without BPF: exit %d, verdict %s, want 0 pass:\n%s", code, v.Status, out)
			case c.check != "" && (code != runner.ExitCheckFailed || ck.Status != record.StatusFail):
				t.Errorf("%s without BPF: exit %d, %s %s, want exit 1 and it failed:\n%s", c.leak, code, c.check, ck.Status, out)
			}
			if strings.Contains(ck.Message, record.WitnessKernelEvents) {
				t.Errorf("reclaim/client names the kernel event witness that did not run: %s", ck.Message)
			}
		})
	}
}
