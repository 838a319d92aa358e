package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/soak-dev/soak/internal/clitest"
)

// A node that cannot start says one thing: the cause with the node, its
// command, the directory it ran in and its log's tail, then the verdict:
// error, without a list of checks that never had a chance.
func TestSetupFailureSaysOneThing(t *testing.T) {
	out := t.TempDir()
	sc := filepath.Join(t.TempDir(), "dead.yaml")
	os.WriteFile(sc, []byte(`name: dead
nodes:
  n:
    command: ["sh", "-c", "echo cannot start: config missing >&2; exit 1"]
    ready_timeout: 5s
layers:
  l: {node: n, listen: n, idle_timeout: 1s}
phases:
  - {name: p, quiet: {duration: 1s}}
`), 0o644)
	code, output := clitest.Run(t, "run", sc, "--out", out, "--quiet")
	if code != 3 {
		t.Fatalf("exit %d, want 3\n%s", code, output)
	}
	for _, want := range []string{"setup failed: node n", "command:   sh -c 'echo cannot start: config missing >&2; exit 1'",
		"directory: " + out, "config missing", "verdict: error (exit 3)"} {
		if !strings.Contains(output, want) {
			t.Errorf("output lacks %q:\n%s", want, output)
		}
	}
	for _, noise := range []string{"INCONCLUSIVE", "PASS", "FAIL", "never ran"} {
		if strings.Contains(output, noise) {
			t.Errorf("output of a setup failure shows %q:\n%s", noise, output)
		}
	}
	dir := clitest.RunDir(t, out)
	junit, _ := os.ReadFile(filepath.Join(dir, "junit.xml"))
	if !strings.Contains(string(junit), `<error message="node n`) || strings.Contains(string(junit), "<skipped") {
		t.Errorf("junit.xml of a setup failure, want one error naming the node and no skipped case:\n%s", junit)
	}
}
