package reports

import (
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/soak-dev/soak/record"
)

// ErrNotComparable is returned by Compare when the two runs ran different
// scenarios (Comparison.Why says how) and CompareOptions.Force is not set.
var ErrNotComparable = errors.New("runs are not comparable")

// CompareFile is the page Compare writes.
const CompareFile = "compare.html"

// CompareOptions tune Compare.
type CompareOptions struct {
	// Out is the directory for compare.html, compare.json and plots/.
	// Default: RUN_B/compare-<base name of RUN_A>.
	Out string
	// FailOn are rules (see ParseRule) evaluated against the comparison.
	FailOn []Rule
	// Force compares runs of different scenarios anyway.
	Force bool
}

// Comparison is run B measured against run A (the baseline).
type Comparison struct {
	A *Summary `json:"a"`
	B *Summary `json:"b"`
	// DirA and DirB are the run directories.
	DirA string `json:"dir_a"`
	DirB string `json:"dir_b"`
	// Why lists the differences that make the runs not comparable (empty when
	// they are); Notes lists lesser differences worth knowing.
	Why   []string `json:"why,omitempty"`
	Notes []string `json:"notes,omitempty"`
	// Rows are the headline figures side by side; Hidden counts the
	// figures left out of them because they are 0 in both runs.
	Rows   []Row      `json:"rows"`
	Hidden int        `json:"hidden_zero_rows,omitempty"`
	Checks []CheckRow `json:"checks"`
	// Rules are the --fail-on outcomes; Tripped counts those that tripped.
	Rules   []RuleResult `json:"rules,omitempty"`
	Tripped int          `json:"tripped"`
	// HTML is the path of compare.html.
	HTML string `json:"html"`
	// Text is the A-vs-B table per layer (Table), as printed by soak compare.
	Text string `json:"table"`
}

// Row is one figure in both runs.
type Row struct {
	Figure string  `json:"figure"`
	A      float64 `json:"a"`
	B      float64 `json:"b"`
	// Change is B-A; Percent is the change relative to A, when A is not 0.
	Change     float64 `json:"change"`
	Percent    float64 `json:"percent,omitempty"`
	HasPercent bool    `json:"has_percent,omitempty"`
	// Noise is the larger cycle-to-cycle spread of the figure in the two
	// runs, when both ran 2 cycles or more; a change within it is not a
	// regression. NoNoise says why there is no estimate otherwise.
	Noise       float64 `json:"noise,omitempty"`
	HasNoise    bool    `json:"has_noise,omitempty"`
	WithinNoise bool    `json:"within_noise,omitempty"`
	NoNoise     string  `json:"no_noise,omitempty"`
	// BoundA and BoundB mark a value that is only a lower bound (see
	// Summary.LowerBounds); MissingA and MissingB a run without the figure.
	BoundA   bool `json:"bound_a,omitempty"`
	BoundB   bool `json:"bound_b,omitempty"`
	MissingA bool `json:"missing_a,omitempty"`
	MissingB bool `json:"missing_b,omitempty"`
}

// CheckRow is one check's status in both runs ("" when a run lacks it).
type CheckRow struct {
	Name      string `json:"name"`
	A         string `json:"a"`
	B         string `json:"b"`
	Regressed bool   `json:"regressed,omitempty"`
}

// Compare measures run b against run a (the baseline), writes compare.html
// with overlaid plots into opts.Out, and evaluates opts.FailOn. Runs of
// different scenarios return ErrNotComparable (with the Comparison saying
// why) unless opts.Force is set.
func Compare(a, b string, opts CompareOptions) (*Comparison, error) {
	ba, err := load(a)
	if err != nil {
		return nil, fmt.Errorf("compare %s: %w", a, err)
	}
	defer ba.run.Close()
	bb, err := load(b)
	if err != nil {
		return nil, fmt.Errorf("compare %s: %w", b, err)
	}
	defer bb.run.Close()
	c := &Comparison{A: ba.sum, B: bb.sum, DirA: a, DirB: b}
	c.Why, c.Notes = comparability(ba.run.Meta, bb.run.Meta)
	if len(c.Why) > 0 && !opts.Force {
		return c, fmt.Errorf("%w: %s (use --force to compare anyway)", ErrNotComparable, strings.Join(c.Why, "; "))
	}
	c.Rows = compareRows(ba.sum, bb.sum)
	c.Checks = compareChecks(ba.sum, bb.sum)
	for _, r := range opts.FailOn {
		res, err := evalRule(r, c)
		if err != nil {
			return c, err
		}
		c.Rules = append(c.Rules, res)
		if res.Tripped {
			c.Tripped++
		}
	}
	out := opts.Out
	if out == "" {
		out = filepath.Join(b, "compare-"+fileSafe(filepath.Base(filepath.Clean(a))))
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return c, fmt.Errorf("compare: %w", err)
	}
	// The output directory is written through an os.Root like a run
	// directory: it sits inside run b, which may be an untrusted artifact.
	od := &record.Run{Dir: out, Meta: ba.run.Meta}
	defer od.Close()
	c.Text = c.Table()
	plots, err := overlayPlots(ba, bb, od)
	if err != nil {
		return c, err
	}
	if err := od.WriteJSON(c, "compare.json"); err != nil {
		return c, fmt.Errorf("compare: %w", err)
	}
	page, err := renderCompare(c, plots)
	if err != nil {
		return c, err
	}
	c.HTML = filepath.Join(out, CompareFile)
	if err := od.WriteFile(page, CompareFile); err != nil {
		return c, fmt.Errorf("compare: %w", err)
	}
	return c, nil
}

// comparability says why two runs cannot be compared (different scenario,
// phases or layers) and notes lesser differences (timeouts, engines).
func comparability(a, b record.Meta) (why, notes []string) {
	if a.Scenario != b.Scenario {
		why = append(why, fmt.Sprintf("scenario %q vs %q", a.Scenario, b.Scenario))
	}
	if pa, pb := phaseBases(a), phaseBases(b); strings.Join(pa, ",") != strings.Join(pb, ",") {
		why = append(why, fmt.Sprintf("phases [%s] vs [%s]", strings.Join(pa, " "), strings.Join(pb, " ")))
	}
	if la, lb := slices.Sorted(maps.Keys(a.Layers)), slices.Sorted(maps.Keys(b.Layers)); strings.Join(la, ",") != strings.Join(lb, ",") {
		why = append(why, fmt.Sprintf("layers [%s] vs [%s]", strings.Join(la, " "), strings.Join(lb, " ")))
	}
	for _, l := range slices.Sorted(maps.Keys(a.Layers)) {
		if lb, ok := b.Layers[l]; ok && lb.IdleTimeoutMs != a.Layers[l].IdleTimeoutMs {
			notes = append(notes, fmt.Sprintf("layer %s idle timeout %d ms vs %d ms", l, a.Layers[l].IdleTimeoutMs, lb.IdleTimeoutMs))
		}
	}
	for _, n := range slices.Sorted(maps.Keys(a.Nodes)) {
		if nb, ok := b.Nodes[n]; ok && nb.Engine != a.Nodes[n].Engine {
			notes = append(notes, fmt.Sprintf("node %s engine %q vs %q", n, a.Nodes[n].Engine, nb.Engine))
		}
	}
	if la, lb := a.TimerLateness.Max(), b.TimerLateness.Max(); max(la, lb) >= latenessWorthNoting {
		notes = append(notes, fmt.Sprintf("timers fired late by %s in run A and %s in run B (meta.json timer_lateness): "+
			"the SUT's idle and reclaim times can differ by that much from the machine alone", lateText(a.TimerLateness), lateText(b.TimerLateness)))
	}
	if a.Ended != record.EndedCompleted {
		notes = append(notes, "run A did not complete: "+a.Ended)
	}
	if b.Ended != record.EndedCompleted {
		notes = append(notes, "run B did not complete: "+b.Ended)
	}
	return why, notes
}

// latenessWorthNoting is the timer lateness from which a comparison says
// how late each run's timers fired: below it, a SUT's idle timers are as
// punctual as soak's 1-second sampling can tell.
const latenessWorthNoting = 100 * time.Millisecond

// lateText is a run's max timer lateness, or that it was not measured.
func lateText(t *record.TimerLateness) string {
	if t == nil {
		return "an unmeasured time"
	}
	return "up to " + t.Max().String()
}

// phaseBases lists the scenario phases in order, each once per run of
// repetitions, so "hold hold#2" and "hold hold#2 hold#3" still differ.
func phaseBases(m record.Meta) []string {
	out := []string{}
	for _, p := range m.Phases {
		out = append(out, p.Name)
	}
	return out
}

// figureOrder sorts figures the way a reader scans them: layers, then
// goroutines, FDs, RSS, load, then per-node figures.
func figureOrder(f string) int {
	switch {
	case strings.HasPrefix(f, "nodes."):
		return 5
	case strings.HasPrefix(f, "goroutines."):
		return 1
	case strings.HasPrefix(f, "fd."):
		return 2
	case strings.HasPrefix(f, "rss."):
		return 3
	case strings.HasPrefix(f, "load."):
		return 4
	}
	return 0
}

func compareRows(a, b *Summary) []Row {
	figs := map[string]bool{}
	for f := range a.Figures {
		figs[f] = true
	}
	for f := range b.Figures {
		figs[f] = true
	}
	names := slices.Sorted(maps.Keys(figs))
	sort.SliceStable(names, func(i, j int) bool { return figureOrder(names[i]) < figureOrder(names[j]) })
	var rows []Row
	for _, f := range names {
		r := Row{Figure: f, A: a.Figures[f], B: b.Figures[f], BoundA: a.lowerBound(f), BoundB: b.lowerBound(f)}
		_, inA := a.Figures[f]
		_, inB := b.Figures[f]
		r.MissingA, r.MissingB = !inA, !inB
		r.Change = r.B - r.A
		// A percentage only from a positive baseline: from 0 it is
		// infinite, and from a negative one (a falling slope) its sign
		// says the opposite of the change.
		if r.A > 0 && inA && inB {
			r.Percent, r.HasPercent = r.Change/r.A*100, true
		}
		noiseOf(&r, a, b)
		rows = append(rows, r)
	}
	return rows
}

func compareChecks(a, b *Summary) []CheckRow {
	names := map[string]bool{}
	get := func(s *Summary, n string) string {
		if s.Verdict == nil {
			return ""
		}
		return s.Verdict.Checks[n]
	}
	for _, s := range []*Summary{a, b} {
		if s.Verdict != nil {
			for n := range s.Verdict.Checks {
				names[n] = true
			}
		}
	}
	var out []CheckRow
	for _, n := range slices.Sorted(maps.Keys(names)) {
		cr := CheckRow{Name: n, A: get(a, n), B: get(b, n)}
		cr.Regressed = cr.B == record.StatusFail && cr.A != record.StatusFail
		out = append(out, cr)
	}
	return out
}
