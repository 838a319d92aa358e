package cli

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/soak-dev/soak/internal/clitest"
	"github.com/soak-dev/soak/internal/testbin"
	"github.com/soak-dev/soak/record"
)

// readmeBlocks returns the fenced code blocks of README.md tagged lang, in order.
func readmeBlocks(t *testing.T, lang string) []string {
	t.Helper()
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, m := range regexp.MustCompile("(?s)```"+lang+"\n(.*?)```").FindAllStringSubmatch(string(b), -1) {
		out = append(out, m[1])
	}
	return out
}

// TestReadmeTour runs the README's tour as printed, from a folder laid out
// like a fresh clone after `make build`: the shell line that makes
// tour/my-gateway, then `soak run tour/my.yaml` on the scenario text
// exactly as in the README. The scenario finds ./my-gateway next to it, its
// load finds objects (synthetic), and the healthy run ends with a pass.
func TestReadmeTour(t *testing.T) {
	t.Parallel()
	var setup string
	for _, b := range readmeBlocks(t, "sh") {
		if strings.Contains(b, "tour/my-gateway") {
			setup = b
		}
	}
	yamls := readmeBlocks(t, "yaml")
	if setup == "" || len(yamls) != 1 {
		t.Fatalf("README.md: want a sh block making tour/my-gateway and one yaml block, got setup %q and %d yaml blocks", setup, len(yamls))
	}
	soakBin := testbin.Path(t)
	clone := t.TempDir()
	if err := os.MkdirAll(filepath.Join(clone, "bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(soakBin, filepath.Join(clone, "bin", "soak")); err != nil {
		t.Fatal(err)
	}
	sh := exec.Command("sh", "-e", "-c", setup)
	sh.Dir = clone
	if out, err := sh.CombinedOutput(); err != nil {
		t.Fatalf("README setup line: %v\n%s", err, out)
	}
	if err := os.WriteFile(filepath.Join(clone, "tour", "my.yaml"), []byte(yamls[0]), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(clone, "runs")
	cmd := exec.Command(soakBin, "run", "tour/my.yaml", "--out", out, "--quiet")
	cmd.Dir = clone
	output, _ := cmd.CombinedOutput()
	dir := clitest.RunDir(t, out)
	if m := readMeta(t, dir); m.Ended != record.EndedCompleted {
		t.Fatalf("ended = %q (%s), want completed\n%s", m.Ended, m.Cause, output)
	}
	if !strings.Contains(string(output), "verdict: pass") {
		t.Errorf("the README's tour does not end with 'verdict: pass':\n%s", output)
	}
	// Every GET found its object: the bucket's synthetic objects.
	b, err := os.ReadFile(filepath.Join(dir, "load", "load.json"))
	if err != nil {
		t.Fatal(err)
	}
	var sum struct {
		Requests    int            `json:"requests"`
		StatusCodes map[string]int `json:"status_codes"`
	}
	if err := json.Unmarshal(b, &sum); err != nil {
		t.Fatal(err)
	}
	if sum.Requests == 0 || sum.StatusCodes["200"] != sum.Requests {
		t.Errorf("load phase: %d requests, status codes %v; want all 200", sum.Requests, sum.StatusCodes)
	}
}
