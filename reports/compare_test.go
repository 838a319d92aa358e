package reports

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/soak-dev/soak/record"
)

func TestParseRule(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in      string
		want    Rule
		wantErr bool
	}{
		{in: "goroutines.peak:+10%", want: Rule{Figure: "goroutines.peak", Direction: 1, Limit: 10, Percent: true}},
		{in: "backend.max_idle:+1s", want: Rule{Figure: "backend.max_idle", Direction: 1, Limit: 1}},
		{in: "backend.max_idle:+500ms", want: Rule{Figure: "backend.max_idle", Direction: 1, Limit: 0.5}},
		{in: "load.p99:+2ms", want: Rule{Figure: "load.p99", Direction: 1, Limit: 2}},
		{in: "load.rate:-10%", want: Rule{Figure: "load.rate", Direction: -1, Limit: 10, Percent: true}},
		{in: "fd.peak:5", want: Rule{Figure: "fd.peak", Direction: 1, Limit: 5}},
		{in: "any-check-regressed", want: Rule{Checks: true}},
		{in: "goroutines.peak", wantErr: true},
		{in: ":+1", wantErr: true},
		{in: "goroutines.peak:+1s", wantErr: true}, // not a time figure
		{in: "goroutines.peak:+abc", wantErr: true},
		{in: "goroutines.peak:+NaN", wantErr: true},
		{in: "", wantErr: true},
	} {
		got, err := ParseRule(tc.in)
		if (err != nil) != tc.wantErr {
			t.Errorf("ParseRule(%q) error = %v, want error %v", tc.in, err, tc.wantErr)
			continue
		}
		if err != nil {
			continue
		}
		tc.want.Text = tc.in
		if got != tc.want {
			t.Errorf("ParseRule(%q) = %+v, want %+v", tc.in, got, tc.want)
		}
	}
}

func passingVerdict() *record.Verdict {
	v := failingVerdict()
	v.Status = record.StatusPass
	for i := range v.Checks {
		v.Checks[i].Status = record.StatusPass
	}
	return v
}

// summaryOf writes a crafted run and summarizes it without rendering.
func summaryOf(t *testing.T, sy synth) *Summary {
	t.Helper()
	s, err := Summarize(sy.write(t, filepath.Join(t.TempDir(), "run")))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestFailOnRules(t *testing.T) {
	t.Parallel()
	base := defaultSynth()
	base.verdict = passingVerdict()
	a := summaryOf(t, base)

	leak := defaultSynth()
	leak.leak = true
	leak.verdict = failingVerdict()
	bLeak := summaryOf(t, leak)

	slight := defaultSynth() // within the cycle-to-cycle spread
	slight.extraGor = 3
	slight.verdict = passingVerdict()
	bSlight := summaryOf(t, slight)

	big := defaultSynth() // well beyond it
	big.extraGor = 60
	big.verdict = passingVerdict()
	bBig := summaryOf(t, big)

	for _, tc := range []struct {
		name    string
		b       *Summary
		rule    string
		tripped bool
	}{
		{"same run, any rule", a, "goroutines.peak:+0", false},
		{"same run, checks", a, "any-check-regressed", false},
		{"leak trips goroutines", bLeak, "goroutines.peak:+10%", true},
		{"leak trips idle age", bLeak, "backend.max_idle:+1s", true},
		{"leak trips checks", bLeak, "any-check-regressed", true},
		{"leak leaves client idle alone", bLeak, "client.max_idle:+1s", false},
		{"drop guard ignores a rise", bLeak, "goroutines.peak:-1%", false},
		{"within noise is no regression", bSlight, "goroutines.peak:+0", false},
		{"beyond noise is one", bBig, "goroutines.peak:+0", true},
		{"beyond noise per node", bBig, "nodes.proxy.goroutines.peak:+10%", true},
	} {
		r, err := ParseRule(tc.rule)
		if err != nil {
			t.Fatal(err)
		}
		c := &Comparison{A: a, B: tc.b, Rows: compareRows(a, tc.b), Checks: compareChecks(a, tc.b)}
		res, err := evalRule(r, c)
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if res.Tripped != tc.tripped {
			t.Errorf("%s: %s tripped = %v, want %v (%s)", tc.name, tc.rule, res.Tripped, tc.tripped, res.Message)
		}
	}
	if _, err := evalRule(Rule{Text: "nope.peak:+1", Figure: "nope.peak", Direction: 1, Limit: 1},
		&Comparison{A: a, B: a, Rows: compareRows(a, a)}); !errors.Is(err, ErrUnknownFigure) {
		t.Errorf("unknown figure: err = %v", err)
	}
}

func TestCompare(t *testing.T) {
	t.Parallel()
	base := defaultSynth()
	base.verdict = passingVerdict()
	dirA := base.write(t, filepath.Join(t.TempDir(), "a"))
	leak := defaultSynth()
	leak.leak = true
	leak.verdict = failingVerdict()
	dirB := leak.write(t, filepath.Join(t.TempDir(), "b"))

	var rules []Rule
	for _, s := range []string{"any-check-regressed", "client.max_idle:+1s"} {
		r, _ := ParseRule(s)
		rules = append(rules, r)
	}
	out := filepath.Join(t.TempDir(), "cmp")
	c, err := Compare(dirA, dirB, CompareOptions{Out: out, FailOn: rules})
	if err != nil {
		t.Fatal(err)
	}
	if c.Tripped != 1 || !c.Rules[0].Tripped || c.Rules[1].Tripped {
		t.Errorf("rules = %+v", c.Rules)
	}
	// The A-vs-B table: a sentence per layer, every figure by its rule
	// name, the checks that differ, the rules.
	for _, want := range []string{"backend (node proxy): ", "goroutines per idle connection", "figure (--fail-on name)",
		"backend.max_idle", "load.p99", "reclaim/backend pass -> fail", "TRIPPED  any-check-regressed"} {
		if !strings.Contains(c.Text, want) {
			t.Errorf("the A-vs-B table lacks %q:\n%s", want, c.Text)
		}
	}
	page, err := os.ReadFile(c.HTML)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"reclaim/backend", "regressed", "figure (--fail-on name)", "backend.max_idle", "goroutines.peak",
		"1 rule(s) tripped", `id="plot-connections"><img`, `id="plot-goroutines"><img`, "A: backend"[:0]} {
		if !strings.Contains(string(page), want) {
			t.Errorf("compare.html lacks %q", want)
		}
	}
	for _, p := range []string{"connections", "idle-age", "goroutines", "fds", "rss"} {
		checkPNG(t, filepath.Join(out, record.PlotsDir, p+".png"))
	}
	svg, _ := os.ReadFile(filepath.Join(out, record.PlotsDir, "idle-age.svg"))
	for _, w := range []string{">A: backend<", ">B: backend<"} {
		if !strings.Contains(string(svg), w) {
			t.Errorf("idle-age.svg lacks %q", w)
		}
	}

	other := defaultSynth()
	other.scenario = "another"
	other.phases = other.phases[:1]
	dirC := other.write(t, filepath.Join(t.TempDir(), "c"))
	c, err = Compare(dirA, dirC, CompareOptions{Out: filepath.Join(t.TempDir(), "x")})
	if !errors.Is(err, ErrNotComparable) || c == nil || len(c.Why) < 2 {
		t.Fatalf("different scenarios: err = %v, comparison = %+v", err, c)
	}
	if !strings.Contains(err.Error(), `scenario "synthetic" vs "another"`) {
		t.Errorf("error does not say why: %v", err)
	}
}

func TestAligner(t *testing.T) {
	t.Parallel()
	a, b := defaultSynth(), defaultSynth()
	b.phases[0].dur *= 2 // B's warm-up ran twice as long
	ra := summaryOf(t, a)
	rb := summaryOf(t, b)
	al := newAligner(record.Meta{Start: ra.Start, Phases: ra.Phases}, record.Meta{Start: rb.Start, Phases: rb.Phases})
	for _, tc := range []struct{ bx, want float64 }{
		{0, 0},   // warm starts together
		{30, 15}, // hold starts at 30 s in B, 15 s in A
		{35, 20},
		{40, 25}, // hold#2
	} {
		if got := al.x(tc.bx); got != tc.want {
			t.Errorf("x(%v) = %v, want %v", tc.bx, got, tc.want)
		}
	}
}

// A comparison says how late each run's timers fired once either was late
// enough to move idle and reclaim times: a reader of "reclaimed after 4.7 s
// vs 4.0 s" must see that run B's machine was 700 ms late.
func TestComparabilityNotesLateness(t *testing.T) {
	t.Parallel()
	late := func(ms float64) *record.TimerLateness {
		return &record.TimerLateness{StepMs: 100, Samples: 50, MaxMs: ms}
	}
	for _, tc := range []struct {
		name string
		a, b *record.TimerLateness
		want string // "" when no note
	}{
		{"both punctual", late(3), late(12), ""},
		{"B late", late(3), late(700), "timers fired late by up to 3ms in run A and up to 700ms in run B"},
		{"A unmeasured", nil, late(250), "late by an unmeasured time in run A and up to 250ms in run B"},
		{"neither measured", nil, nil, ""},
	} {
		a := record.Meta{Ended: record.EndedCompleted, TimerLateness: tc.a}
		b := record.Meta{Ended: record.EndedCompleted, TimerLateness: tc.b}
		why, notes := comparability(a, b)
		got := strings.Join(notes, "; ")
		if len(why) > 0 || (tc.want == "") != (got == "") || !strings.Contains(got, tc.want) {
			t.Errorf("%s: why %q, notes %q; want a note with %q", tc.name, why, got, tc.want)
		}
	}
}
