package reports

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestBuildHostileRun feeds Build a run directory a buggy or hostile writer
// could leave: torn and non-JSON lines, odd names, phases ending before they
// start, samples outside the run, empty parts. It must build, not panic.
func TestBuildHostileRun(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	files := map[string]string{
		"meta.json": `{"format":1,"scenario":"<b>x</b>","start":"2026-01-01T00:00:00Z","end":"2025-12-31T00:00:00Z",
"interval_ms":-5,"nodes":{"../etc/<n>":{"log":"../../../etc/hostname"}},
"layers":{"<l>":{"node":"../etc/<n>","idle_timeout_ms":-1}},
"phases":[{"name":"p<1>","start":"2026-01-01T00:00:10Z","end":"2026-01-01T00:00:05Z"},{"name":"","start":"0001-01-01T00:00:00Z"}]}`,
		"samples.jsonl": `{"t":"2026-01-01T00:00:00Z","node":"../etc/<n>","goroutines":{"total":-3},"sockets":{"layers":{"<l>":null,"x":{"states":{"ESTABLISHED":-1},"idle":{"max":-9}}}}}
not json
{"t":"1970-01-01T00:00:00Z","node":"","fds":{"total":5,"by_type":{"":1}},"proc":{"rss":1}}
{"t":"2300-01-01T00:00:00Z","node":"z","goroutines":{"total":7,"by_class":{"<c>":7}}}
{"t":"2026-01-01T00:00:01Z","node":"z","goroutines":{"total":9`,
		"conns.jsonl": `{"layer":"<l>","closed_by":"","opened":"2026-01-01T00:00:00Z","closed":"2025-01-01T00:00:00Z","idle_before_close_ms":-4}
{"witness":"kernel"}
`,
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	os.MkdirAll(filepath.Join(dir, "load"), 0o755)
	os.WriteFile(filepath.Join(dir, "load", "bad.json"), []byte(`{"phase":"<p>","requests":5,"success":2}`), 0o644)
	os.WriteFile(filepath.Join(dir, "verdict.json"), []byte(`{"status":"<s>","checks":[{"name":"<script>x</script>"}]}`), 0o644)
	out, err := Build(dir)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := os.ReadFile(out)
	if strings.Contains(string(page), "<script>x") || strings.Contains(string(page), "<b>x") {
		t.Error("unescaped hostile string in report.html")
	}
	if !strings.Contains(string(page), "log path is outside the run directory") {
		t.Error("a log outside the run directory was read")
	}
	if _, err := os.Stat(filepath.Join(dir, "..", "etc")); err == nil {
		t.Error("a node name escaped the run directory")
	}
}
