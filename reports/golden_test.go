package reports

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
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

// TestGoldenCompareRows compares compare.html's figure table (values in
// their units, changes, percentages, colours, hidden all-zero rows) of a
// healthy run against a leaking one with testdata/golden.
func TestGoldenCompareRows(t *testing.T) {
	t.Parallel()
	leaking := defaultSynth()
	leaking.leak = true
	c := &Comparison{Rows: compareRows(summaryOf(t, defaultSynth()), summaryOf(t, leaking))}
	rows, hidden := figureRows(c)
	var b bytes.Buffer
	for _, r := range rows {
		b.WriteString(r.Figure + " | " + r.Unit + " | " + r.A + " | " + r.B + " | " + r.Change + " | " + r.Percent + " | " + r.Class + "\n")
	}
	b.WriteString("hidden: " + strconv.Itoa(hidden) + "\n")
	golden(t, "compare-rows.txt", b.Bytes())
}

func TestFigureRows(t *testing.T) {
	t.Parallel()
	c := &Comparison{Rows: compareRows(
		&Summary{Figures: map[string]float64{"goroutines.slope": -1137, "rss.peak": 50 << 20, "load.rate": 100, "backend.peak": 0, "client.reclaimed_after": 4}},
		&Summary{Figures: map[string]float64{"goroutines.slope": 11535, "rss.peak": 60 << 20, "load.rate": 90, "backend.peak": 0, "client.reclaimed_after": 6}})}
	rows, hidden := figureRows(c)
	if hidden != 1 || len(rows) != 4 {
		t.Fatalf("rows %+v, hidden %d: want backend.peak (0 in both) hidden", rows, hidden)
	}
	want := map[string]figureRow{
		"goroutines.slope":       {Unit: "goroutines/h", A: "-1137", B: "11535", Change: "+12672", Percent: "", Class: "worse"},
		"rss.peak":               {Unit: "MiB", A: "50", B: "60", Change: "+10", Percent: "+20.0%", Class: "worse"},
		"load.rate":              {Unit: "req/s", A: "100", B: "90", Change: "-10", Percent: "-10.0%", Class: "worse"},
		"client.reclaimed_after": {Unit: "s", A: "4", B: "6", Change: "+2", Percent: "+50.0%", Class: ""},
	}
	for _, r := range rows {
		w := want[r.Figure]
		if r.Unit != w.Unit || r.A != w.A || r.B != w.B || r.Change != w.Change || r.Percent != w.Percent || r.Class != w.Class {
			t.Errorf("%s: got %q %q %q %q %q %q, want %q %q %q %q %q %q", r.Figure, r.Unit, r.A, r.B, r.Change, r.Percent, r.Class,
				w.Unit, w.A, w.B, w.Change, w.Percent, w.Class)
		}
	}
}
