package reports

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"image"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.uber.org/goleak"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/vgimg"

	"github.com/soak-dev/soak/record"
)

// shippedDPI and shippedCompression are pngDPI and pngCompression as soak
// ships them; TestMain lowers pngDPI to testDPI (under -race a report build
// at 96 dpi costs ~8 CPU seconds, at 24 dpi ~1, through the same drawing
// code: a quarter of the pixels each way) and turns compression off (deflate
// was a fifth of what was left; the PNGs still decode and are checked).
var shippedDPI, shippedCompression = pngDPI, pngCompression

const testDPI = 24

func TestMain(m *testing.M) {
	pngDPI = testDPI
	pngCompression = png.NoCompression
	goleak.VerifyTestMain(m)
}

// Reports ship plots at gonum's default resolution and compressed; only
// tests lower them, and the PNGs they check are drawn at the lowered ones.
func TestPNGResolution(t *testing.T) {
	t.Parallel()
	if shippedDPI != vgimg.DefaultDPI {
		t.Errorf("pngDPI = %d, want vgimg.DefaultDPI (%d)", shippedDPI, vgimg.DefaultDPI)
	}
	if shippedCompression != png.DefaultCompression {
		t.Errorf("pngCompression = %d, want png.DefaultCompression", shippedCompression)
	}
	b, err := renderGrid([][]*panel{{{p: plot.New()}}}, plotWidth, plotHeight, "png")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := png.DecodeConfig(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	if want := int(math.Round(float64(plotWidth/vg.Inch) * testDPI)); cfg.Width != want {
		t.Errorf("plot %d px wide, want %d (%.1f in at %d dpi)", cfg.Width, want, float64(plotWidth/vg.Inch), testDPI)
	}
}

func failingVerdict() *record.Verdict {
	return &record.Verdict{Status: record.StatusFail, RunEnded: record.EndedCompleted, Checks: []record.CheckResult{
		{Name: "reclaim/client", Kind: "reclaim", Status: record.StatusPass, Value: 2.7, Limit: 5, Unit: "s", Layer: "client",
			Message: "client idle connections reclaimed within 2.7 s (timeout 4 s + 1 s)"},
		{Name: "reclaim/backend", Kind: "reclaim", Status: record.StatusFail, Value: 85, Limit: 3, Unit: "s", Layer: "backend",
			Message: "backend connection idle 85 s <b>never</b> reclaimed (timeout 2 s)"},
		{Name: "no_growth/goroutines/proxy", Kind: "no_growth", Status: record.StatusInconclusive,
			Message: "too few samples for a trend"},
	}}
}

func TestBuild(t *testing.T) {
	t.Parallel()
	leaking := defaultSynth()
	leaking.leak = true
	leaking.verdict = failingVerdict()

	killed := defaultSynth()
	killed.killed = true
	withEvents := defaultSynth()
	withEvents.events = 10
	killed.maxSamples = 40

	empty := defaultSynth()
	empty.maxSamples = -1 // no sample at all
	empty.noConns = true
	empty.phases = nil
	empty.logLines = nil

	one := defaultSynth()
	one.maxSamples = 1

	unseen := defaultSynth()
	unseen.skipLayer = "backend"

	two := defaultSynth()
	two.nodes = []string{"proxy", "target"}
	two.layers = map[string]record.LayerMeta{
		"client":  {Node: "proxy", IdleTimeoutMs: 4000},
		"intra":   {Node: "proxy", Peer: "target", IdleTimeoutMs: 3000},
		"backend": {Node: "target", Peer: "s3", IdleTimeoutMs: 2000},
	}

	for _, tc := range []struct {
		name  string
		sy    synth
		html  []string // substrings report.html must hold
		plots []string // PNGs that must exist and look like plots
		check func(t *testing.T, s *Summary, dir string)
	}{
		{name: "healthy", sy: defaultSynth(),
			html: []string{"No verdict.json", `id="plot-connections"`, "hold#2", "testsut --node proxy", "netlink",
				"&lt;script&gt;alert(1)&lt;/script&gt;"},
			plots: []string{"connections", "idle-age", "goroutines-proxy", "fds-proxy", "rss"},
			check: func(t *testing.T, s *Summary, dir string) {
				if got := s.Figures["backend.max_idle"]; got > 2 {
					t.Errorf("backend.max_idle = %v, want <= 2 (healthy)", got)
				}
				if got := s.Figures["goroutines.per_conn"]; got < 1.9 || got > 2.1 {
					t.Errorf("goroutines.per_conn = %v, want 2", got)
				}
				if s.Cycles != 2 || s.Spread["goroutines.peak"] <= 0 {
					t.Errorf("cycles = %d, spread = %v; want 2 cycles with a goroutine spread", s.Cycles, s.Spread)
				}
				if s.Load.Requests != 6000 || s.Figures["load.rate"] != 200 {
					t.Errorf("load = %+v", s.Load)
				}
				checkSVG(t, dir)
				checkSummaryJSON(t, dir)
			}},
		{name: "leaking", sy: leaking,
			html: []string{`<tr class="check"><td>reclaim/backend</td><td class="fail">fail</td>`, "Verdict: fail",
				"&lt;b&gt;never&lt;/b&gt;", "no_growth/goroutines/proxy"},
			plots: []string{"connections", "idle-age"},
			check: func(t *testing.T, s *Summary, dir string) {
				if got := s.Figures["backend.max_idle"]; got < 80 {
					t.Errorf("backend.max_idle = %v, want >= 80 (leaking)", got)
				}
				if s.Verdict == nil || s.Verdict.Status != "fail" || s.Verdict.Checks["reclaim/backend"] != "fail" {
					t.Errorf("verdict = %+v", s.Verdict)
				}
				if s.Figures["goroutines.slope"] <= 0 {
					t.Errorf("goroutines.slope = %v, want growth", s.Figures["goroutines.slope"])
				}
			}},
		{name: "kernel events", sy: withEvents, html: []string{"kernel events: client: 10 (5 shorter than a tick)",
			"layer client: 5 connections lived less than one tick"},
			check: func(t *testing.T, s *Summary, dir string) {
				if e := s.Layers["client"].Events; e == nil || e.Conns != 10 || e.Short != 5 || e.ClosedBy[record.ClosedByClient] != 10 {
					t.Errorf("client layer events = %+v, want 10 closed by the client, 5 short", e)
				}
			}},
		{name: "killed", sy: killed, html: []string{"KILLED", "(unfinished)"}, plots: []string{"connections"},
			check: func(t *testing.T, s *Summary, dir string) {
				if s.Ended != record.EndedKilled {
					t.Errorf("ended = %q", s.Ended)
				}
			}},
		{name: "empty", sy: empty, html: []string{"no data", "No phase ran", "empty log"},
			check: func(t *testing.T, s *Summary, dir string) {
				if len(s.Nodes) != 0 || s.Figures["goroutines.peak"] != 0 {
					t.Errorf("empty run has figures: %+v", s.Figures)
				}
			}},
		{name: "one sample", sy: one, plots: []string{"connections", "goroutines-proxy"},
			check: func(t *testing.T, s *Summary, dir string) {
				if s.Nodes["proxy"].Samples != 1 {
					t.Errorf("samples = %d", s.Nodes["proxy"].Samples)
				}
			}},
		{name: "layer never seen", sy: unseen, html: []string{"layer backend: no socket of it was ever seen"},
			plots: []string{"connections"},
			check: func(t *testing.T, s *Summary, dir string) {
				if _, ok := s.Layers["backend"]; !ok {
					t.Error("backend layer missing from summary")
				}
			}},
		{name: "two nodes", sy: two, html: []string{"goroutines-target"},
			plots: []string{"goroutines-proxy", "goroutines-target", "fds-target", "connections"},
			check: func(t *testing.T, s *Summary, dir string) {
				if len(s.Nodes) != 2 || s.Layers["backend"].Node != "target" || s.Layers["backend"].PeakEstablished == 0 {
					t.Errorf("nodes = %v, backend = %+v", s.Nodes, s.Layers["backend"])
				}
				if s.Figures["goroutines.peak"] != s.Figures["nodes.proxy.goroutines.peak"]+s.Figures["nodes.target.goroutines.peak"] {
					t.Errorf("goroutines.peak is not the sum of the nodes: %v", s.Figures)
				}
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := tc.sy.write(t, filepath.Join(t.TempDir(), "run"))
			out, err := Build(dir)
			if err != nil {
				t.Fatal(err)
			}
			html, err := os.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			page := string(html)
			for _, want := range tc.html {
				if !strings.Contains(page, want) {
					t.Errorf("report.html lacks %q", want)
				}
			}
			if strings.Contains(page, "<script") || strings.Contains(page, "http://") || strings.Contains(page, "https://") {
				t.Error("report.html has a script or a network reference")
			}
			for _, p := range tc.plots {
				checkPNG(t, filepath.Join(dir, record.PlotsDir, p+".png"))
				if !strings.Contains(page, `id="plot-`+p+`"><img`) {
					t.Errorf("report.html does not embed plot %s", p)
				}
			}
			s, err := ReadSummary(dir)
			if err != nil {
				t.Fatal(err)
			}
			if tc.check != nil {
				tc.check(t, s, dir)
			}
		})
	}
}

// checkPNG asserts that path decodes as a PNG that is a real plot, not a blank.
func checkPNG(t *testing.T, path string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Error(err)
		return
	}
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Errorf("%s: %v", path, err)
		return
	}
	if n := distinctColors(img); n < 16 {
		t.Errorf("%s: %d distinct colours, want a plot", filepath.Base(path), n)
	}
}

func distinctColors(img image.Image) int {
	seen := map[[4]uint32]bool{}
	r := img.Bounds()
	for y := r.Min.Y; y < r.Max.Y; y += 2 {
		for x := r.Min.X; x < r.Max.X; x += 2 {
			c0, c1, c2, c3 := img.At(x, y).RGBA()
			seen[[4]uint32{c0, c1, c2, c3}] = true
		}
	}
	return len(seen)
}

// checkSVG asserts that the SVG plots of defaultSynth hold their series' names.
func checkSVG(t *testing.T, dir string) {
	for file, wants := range map[string][]string{
		"connections.svg":      {"client", "backend", "client TIME_WAIT", "warm", "hold#2", "time since start (s)"},
		"idle-age.svg":         {"idle timeout", "max idle age", "p99 idle age", "backend (node proxy), idle timeout 2 s: no reclaim check in the verdict"},
		"goroutines-proxy.svg": {"server-conn", "transport-read", "total"},
	} {
		b, err := os.ReadFile(filepath.Join(dir, record.PlotsDir, file))
		if err != nil {
			t.Fatal(err)
		}
		for _, w := range wants {
			if !bytes.Contains(b, []byte(">"+w+"<")) {
				t.Errorf("%s lacks %q", file, w)
			}
		}
	}
}

// checkSummaryJSON asserts summary.json has its top-level sections.
func checkSummaryJSON(t *testing.T, dir string) {
	b, err := os.ReadFile(filepath.Join(dir, record.SummaryJSON))
	if err != nil {
		t.Fatal(err)
	}
	var raw map[string]any
	if err := json.Unmarshal(b, &raw); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"figures", "layers", "nodes", "load", "phases"} {
		if _, ok := raw[k]; !ok {
			t.Errorf("summary.json lacks %q", k)
		}
	}
}

func TestBuildNotARun(t *testing.T) {
	t.Parallel()
	if _, err := Build(t.TempDir()); err == nil {
		t.Fatal("Build of an empty directory succeeded")
	}
}

// A build abandoned by its context (a second Ctrl-C) leaves no report.html,
// and the same run still builds afterwards.
func TestBuildContextCancelled(t *testing.T) {
	t.Parallel()
	dir := defaultSynth().write(t, filepath.Join(t.TempDir(), "run"))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := BuildContext(ctx, dir); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if _, err := os.Stat(filepath.Join(dir, record.ReportHTML)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("report.html after a cancelled build: %v", err)
	}
	if _, err := Build(dir); err != nil {
		t.Fatalf("build after a cancelled one: %v", err)
	}
}
