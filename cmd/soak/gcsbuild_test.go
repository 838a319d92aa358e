package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/soak-dev/soak/internal/clitest"
	"github.com/soak-dev/soak/runner"
)

// The test binary is built without -tags gcs (as `make soak` builds it):
// a scenario with a gcs backend fails validate and run at once (exit 2),
// saying how to get the fake GCS, instead of failing at setup.
func TestGCSBackendNeedsTag(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "g.yaml")
	sc := `name: g
nodes:
  n: {command: ["sleep", "60"]}
backends:
  store: {kind: gcs, buckets: [bucket-1]}
layers:
  client: {node: n, listen: n, idle_timeout: 5s}
phases:
  - {name: q, quiet: {duration: 1s}}
`
	if err := os.WriteFile(path, []byte(sc), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"validate", path}, {"run", path, "--out", t.TempDir(), "--quiet"}} {
		code, out := clitest.Run(t, args...)
		if code != runner.ExitUsage || !strings.Contains(out, "backends.store.kind") || !strings.Contains(out, "-tags gcs") {
			t.Errorf("soak %s: exit %d, output:\n%s\nwant exit %d naming backends.store.kind and -tags gcs", args[0], code, out, runner.ExitUsage)
		}
	}
}
