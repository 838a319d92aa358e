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

// TestBuildStaysInRunDir: issue 21. Run directories are CI artifacts, so a
// symlink in one must not take a read or a write outside it: a
// plots/connections.png link was overwritten through, a logs/NODE.log link
// to /etc/passwd was embedded in report.html.
func TestBuildStaysInRunDir(t *testing.T) {
	t.Parallel()
	outside := t.TempDir()
	secret := filepath.Join(outside, "secret")
	victim := filepath.Join(outside, "victim.png")
	for p, body := range map[string]string{secret: "root:x:0:0:SECRET-PASSWD-LINE", victim: "VICTIM"} {
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	dir := t.TempDir()
	defaultSynth().write(t, dir)
	os.MkdirAll(filepath.Join(dir, "logs"), 0o755)
	for link, target := range map[string]string{"logs/proxy.log": secret, "summary.json": secret} {
		os.Remove(filepath.Join(dir, link))
		if err := os.Symlink(target, filepath.Join(dir, link)); err != nil {
			t.Fatal(err)
		}
	}
	// Build once, then make every plot it wrote a link to the victim.
	if _, err := Build(dir); err != nil {
		t.Fatal(err)
	}
	written, _ := filepath.Glob(filepath.Join(dir, "plots", "*"))
	if len(written) == 0 {
		t.Fatal("no plots written")
	}
	for _, p := range written {
		os.Remove(p)
		os.Symlink(victim, p)
	}
	out, err := Build(dir)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := os.ReadFile(out)
	if strings.Contains(string(page), "SECRET-PASSWD-LINE") {
		t.Error("report.html embeds a file outside the run directory")
	}
	if b, _ := os.ReadFile(victim); string(b) != "VICTIM" {
		t.Errorf("a file outside the run directory was overwritten through a symlink: %.40q", b)
	}
	if b, _ := os.ReadFile(secret); string(b) != "root:x:0:0:SECRET-PASSWD-LINE" {
		t.Errorf("secret overwritten: %.40q", b)
	}
}

// TestBuildDegradesPerFile: a run directory is untrusted, and one file of
// it linked outside (or unreadable) made the whole report fail. Each file
// is now refused by itself, named in the report, and the rest is built; a
// verdict that cannot be read is an error, never a pass. Two builds keep it
// short: each links out some files and checks the others still count.
func TestBuildDegradesPerFile(t *testing.T) {
	t.Parallel()
	type link struct {
		file string // linked out of the run directory
		dir  bool   // a directory: linked to one outside
		want string // in report.html
	}
	for _, tc := range []struct {
		name  string
		links []link
	}{
		{"verdict conns load plots", []link{
			{"verdict.json", false, "verdict.json could not be read"},
			{"conns.jsonl", false, "conns.jsonl could not be read"},
			{"load", true, "load results could not be read"},
			{"plots", true, "plot files not written"},
		}},
		{"samples meta", []link{
			{"samples.jsonl", false, "samples.jsonl could not be read"},
			{"meta.json", false, "meta.json could not be read"},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			outside := t.TempDir()
			secret := filepath.Join(outside, "secret")
			os.WriteFile(secret, []byte(`{"status":"pass","SECRET":1}`), 0o644)
			dir := t.TempDir()
			defaultSynth().write(t, dir)
			os.WriteFile(filepath.Join(dir, "verdict.json"), []byte(`{"status":"pass","checks":[]}`+"\n"), 0o644)
			linked := map[string]bool{}
			for _, l := range tc.links {
				linked[l.file] = true
				os.RemoveAll(filepath.Join(dir, l.file))
				target := secret
				if l.dir {
					target = outside
				}
				if err := os.Symlink(target, filepath.Join(dir, l.file)); err != nil {
					t.Fatal(err)
				}
			}
			out, err := Build(dir)
			if err != nil {
				t.Fatalf("files linked outside failed the whole report: %v", err)
			}
			page, _ := os.ReadFile(out)
			for _, l := range tc.links {
				if !strings.Contains(string(page), l.want) {
					t.Errorf("%s linked outside: report.html does not say %q", l.file, l.want)
				}
			}
			if !strings.Contains(string(page), "path escapes from parent") {
				t.Error("report.html does not say why the files were refused")
			}
			if strings.Contains(string(page), "SECRET") {
				t.Error("report.html embeds a file outside the run directory")
			}
			sum, err := ReadSummary(dir)
			if err != nil {
				t.Fatal(err)
			}
			switch {
			case linked["verdict.json"] && (sum.Verdict == nil || sum.Verdict.Status != "error"):
				t.Errorf("verdict.json unreadable: summary verdict %+v, want error", sum.Verdict)
			case !linked["verdict.json"] && (sum.Verdict == nil || sum.Verdict.Status != "pass"):
				t.Errorf("the readable verdict was lost: %+v", sum.Verdict)
			}
			if !linked["samples.jsonl"] && len(sum.Nodes) == 0 {
				t.Error("the samples' figures were lost with the other files")
			}
			if _, err := os.Stat(filepath.Join(outside, "connections.png")); err == nil {
				t.Error("a plot was written outside the run directory")
			}
		})
	}
}

// TestBuildOddMeta: issue 21. A meta.json without a start panicked in
// makeslice; a sample dated in year 9999 made the end of a killed run
// centuries away.
func TestBuildOddMeta(t *testing.T) {
	t.Parallel()
	for name, meta := range map[string]string{
		"no start":   `{"format":1,"scenario":"x","end":"2026-01-01T00:00:10Z","ended":"completed","interval_ms":1000,"nodes":{"a":{}},"phases":[]}`,
		"zero start": `{"format":1,"scenario":"x","start":"0001-01-01T00:00:00Z","end":"2026-01-01T00:00:10Z","ended":"completed","interval_ms":1000,"nodes":{"a":{}}}`,
		"killed, sample in 9999": `{"format":1,"scenario":"x","start":"2026-01-01T00:00:00Z","interval_ms":1000,"nodes":{"a":{}},
"phases":[{"name":"p","kind":"steady","start":"2026-01-01T00:00:00Z"}]}`,
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			os.WriteFile(filepath.Join(dir, "meta.json"), []byte(meta), 0o644)
			os.WriteFile(filepath.Join(dir, "samples.jsonl"), []byte(`{"t":"2026-01-01T00:00:01Z","node":"a","sockets":{"total":3}}
{"t":"2026-01-01T00:00:02Z","node":"a","sockets":{"total":4}}
{"t":"9999-01-01T00:00:00Z","node":"a","sockets":{"total":5}}
`), 0o644)
			if _, err := Build(dir); err != nil {
				t.Fatal(err)
			}
		})
	}
}
