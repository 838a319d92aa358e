package reports

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// AnyCheckRegressed is the rule that trips when a check that did not fail
// in run A fails in run B.
const AnyCheckRegressed = "any-check-regressed"

// ErrUnknownFigure is returned for a rule naming a figure neither run has.
var ErrUnknownFigure = errors.New("unknown figure")

// Rule is one --fail-on rule: Figure may not move in Direction by more than
// Limit (absolute, in the figure's unit) or Percent (of run A's value).
type Rule struct {
	// Text is the rule as written, e.g. "goroutines.peak:+10%".
	Text   string
	Figure string
	// Direction is +1 for "may not grow", -1 for "may not shrink".
	Direction float64
	Limit     float64
	Percent   bool
	// Checks marks the any-check-regressed rule.
	Checks bool
}

// ParseRule parses "FIGURE:+N", "FIGURE:+N%", "FIGURE:+DURATION" (for
// figures in seconds or milliseconds) or "any-check-regressed". A "-" sign
// guards against a drop instead (e.g. "load.rate:-10%").
func ParseRule(s string) (Rule, error) {
	r := Rule{Text: s}
	if strings.TrimSpace(s) == AnyCheckRegressed {
		r.Checks = true
		return r, nil
	}
	fig, lim, ok := strings.Cut(s, ":")
	fig, lim = strings.TrimSpace(fig), strings.TrimSpace(lim)
	if !ok || fig == "" || lim == "" {
		return r, fmt.Errorf("rule %q: want FIGURE:+LIMIT (e.g. goroutines.peak:+10%%, backend.max_idle:+1s) or %s", s, AnyCheckRegressed)
	}
	r.Figure = fig
	switch lim[0] {
	case '+':
		r.Direction, lim = 1, lim[1:]
	case '-':
		r.Direction, lim = -1, lim[1:]
	default:
		r.Direction = 1
	}
	if strings.HasSuffix(lim, "%") {
		r.Percent, lim = true, strings.TrimSuffix(lim, "%")
	}
	if v, err := strconv.ParseFloat(lim, 64); err == nil {
		r.Limit = v
	} else if d, derr := time.ParseDuration(lim); derr == nil && !r.Percent {
		unit, ok := figureUnit(fig)
		if !ok {
			return r, fmt.Errorf("rule %q: %s is not a time figure; give a number or a percentage", s, fig)
		}
		r.Limit = float64(d) / float64(unit)
	} else {
		return r, fmt.Errorf("rule %q: limit %q is not a number, a percentage or a duration", s, lim)
	}
	if r.Limit < 0 || math.IsNaN(r.Limit) || math.IsInf(r.Limit, 0) {
		return r, fmt.Errorf("rule %q: limit must be a finite non-negative number", s)
	}
	return r, nil
}

// figureUnit returns the time unit of a figure, for duration limits.
func figureUnit(fig string) (time.Duration, bool) {
	switch {
	case strings.HasSuffix(fig, ".max_idle"), strings.Contains(fig, ".reclaimed_after"):
		return time.Second, true
	case fig == "load.p50" || fig == "load.p99" || strings.HasSuffix(fig, ".p50") || strings.HasSuffix(fig, ".p99"):
		return time.Millisecond, true
	}
	return 0, false
}

// RuleResult is the outcome of one rule.
type RuleResult struct {
	Rule    string `json:"rule"`
	Tripped bool   `json:"tripped"`
	// Message says what moved and by how much, or why it did not count.
	Message string `json:"message"`
}

// evalRule applies r to a comparison's rows and checks.
func evalRule(r Rule, c *Comparison) (RuleResult, error) {
	res := RuleResult{Rule: r.Text}
	if r.Checks {
		var bad []string
		for _, cr := range c.Checks {
			if cr.Regressed {
				bad = append(bad, fmt.Sprintf("%s %s->%s", cr.Name, orDash(cr.A), cr.B))
			}
		}
		res.Tripped = len(bad) > 0
		if res.Tripped {
			res.Message = "checks regressed: " + strings.Join(bad, ", ")
		} else {
			res.Message = "no check that did not fail in A fails in B"
		}
		return res, nil
	}
	var row *Row
	for i := range c.Rows {
		if c.Rows[i].Figure == r.Figure {
			row = &c.Rows[i]
		}
	}
	if row == nil {
		return res, fmt.Errorf("rule %q: %w %q: neither run has it (see summary.json \"figures\")", r.Text, ErrUnknownFigure, r.Figure)
	}
	if row.MissingA || row.MissingB {
		// A rule that cannot be judged does not pass: no silent pass in CI.
		res.Tripped = true
		res.Message = fmt.Sprintf("%s cannot be judged: run %s has no value of it (see its summary.json notes)", r.Figure, missingRun(row))
		return res, nil
	}
	move := (row.B - row.A) * r.Direction // > 0: moved the guarded way
	limit := r.Limit
	if r.Percent {
		limit = math.Abs(row.A) * r.Limit / 100
	}
	what := "grew"
	if r.Direction < 0 {
		what = "dropped"
	}
	// A lower bound proves a move only in one direction: B >= 29 s against
	// A = 10 s is a growth of at least 19 s; A >= 10 s is no baseline.
	unproven := (r.Direction > 0 && row.BoundA) || (r.Direction < 0 && row.BoundB)
	switch {
	case move > limit && unproven:
		res.Message = fmt.Sprintf("%s: %s -> %s, but %s is only a lower bound: the change cannot be shown, not a regression",
			r.Figure, boundNum(row.A, row.BoundA), boundNum(row.B, row.BoundB), map[bool]string{true: "A", false: "B"}[row.BoundA])
	case move <= limit:
		res.Message = fmt.Sprintf("%s: %s -> %s, within the limit", r.Figure, boundNum(row.A, row.BoundA), boundNum(row.B, row.BoundB))
	case row.HasNoise && row.WithinNoise:
		res.Message = fmt.Sprintf("%s %s by %s, but within the cycle-to-cycle spread (%s): not a regression",
			r.Figure, what, formatNum(math.Abs(row.B-row.A)), formatNum(row.Noise))
	default:
		res.Tripped = true
		res.Message = fmt.Sprintf("%s %s from %s to %s (limit %s)", r.Figure, what, boundNum(row.A, row.BoundA), boundNum(row.B, row.BoundB), limitText(r))
		if row.NoNoise != "" {
			res.Message += "; " + row.NoNoise + ", judged as written"
		} else if row.HasNoise {
			res.Message += fmt.Sprintf(", beyond the cycle-to-cycle spread (%s)", formatNum(row.Noise))
		}
	}
	return res, nil
}

func boundNum(v float64, bound bool) string {
	if bound {
		return ">= " + formatNum(v)
	}
	return formatNum(v)
}

func missingRun(row *Row) string {
	switch {
	case row.MissingA && row.MissingB:
		return "A nor B"
	case row.MissingA:
		return "A"
	}
	return "B"
}

func limitText(r Rule) string {
	sign := "+"
	if r.Direction < 0 {
		sign = "-"
	}
	if r.Percent {
		return fmt.Sprintf("%s%g%%", sign, r.Limit)
	}
	return sign + formatNum(r.Limit)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
