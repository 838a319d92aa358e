package reports

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/soak-dev/soak/record"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/golden")

// TestGolden builds crafted runs without drawing a pixel and compares what
// each figure is built from (panels, axis ranges, series, bands, reference
// lines, pass/fail marks), summary.md and the report's tables with the
// files under testdata/golden. `go test ./reports -run Golden -update`
// rewrites them; read the diff before committing it.
func TestGolden(t *testing.T) {
	t.Parallel()
	healthy := defaultSynth()
	healthy.verdict = passingVerdict()
	leaking := defaultSynth()
	leaking.leak = true
	leaking.verdict = failingVerdict()
	// Two nodes as the probes see them: the intra layer also from the
	// target's end, and the backend's ledger without a layer.
	two := defaultSynth()
	two.nodes = []string{"proxy", "target"}
	two.bothEnds, two.ledger = true, true
	two.layers = map[string]record.LayerMeta{
		"client":  {Node: "proxy", Listen: "proxy", IdleTimeoutMs: 4000},
		"intra":   {Node: "proxy", Peer: "target", IdleTimeoutMs: 3000},
		"backend": {Node: "target", Peer: "s3", IdleTimeoutMs: 2000},
	}
	empty := defaultSynth()
	empty.maxSamples, empty.noConns, empty.phases = -1, true, nil

	for name, sy := range map[string]synth{"healthy": healthy, "leaking": leaking, "two-nodes": two, "empty": empty} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			dir := sy.write(t, filepath.Join(t.TempDir(), "run"))
			b, err := load(dir)
			if err != nil {
				t.Fatal(err)
			}
			defer b.run.Close()
			b.noRender = true
			if err := b.renderPlots(context.Background()); err != nil {
				t.Fatal(err)
			}
			figs, err := json.MarshalIndent(b.figs, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			golden(t, name+".figures.json", append(figs, '\n'))
			page, err := b.renderHTML()
			if err != nil {
				t.Fatal(err)
			}
			golden(t, name+".tables.html", htmlTables(page))
			if sy.verdict != nil {
				golden(t, name+".summary.md", []byte(summaryMarkdown(*sy.verdict, b.prs)))
			}
		})
	}
}

var tableRe = regexp.MustCompile(`(?s)<table.*?</table>`)

// htmlTables returns the tables of a report page, one after the other.
func htmlTables(page []byte) []byte {
	return append(bytes.Join(tableRe.FindAll(page, -1), []byte("\n\n")), '\n')
}

// golden compares got with testdata/golden/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./reports -run Golden -update)", err)
	}
	if !bytes.Equal(got, want) {
		gotPath := filepath.Join(t.TempDir(), name)
		_ = os.WriteFile(gotPath, got, 0o644)
		t.Errorf("%s differs from %s (got written to %s; -update rewrites the golden file)", name, path, gotPath)
	}
}
