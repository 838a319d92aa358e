package scenarios

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/soak-dev/soak/internal/suggest"
)

// LoadCheck: k6-style thresholds on the load a phase put on the SUT, read
// from load/<phase>.json. Each threshold is "OP VALUE" with OP one of <, <=,
// >, >=: ErrorRate and Rate take a percentage ("< 1%"), latencies a
// duration ("< 250ms"). Unset thresholds are not checked. A response whose
// status the phase lists in expect_status is a success.
type LoadCheck struct {
	// Phase names the phase judged (every run of it). Default: every
	// rate-driven phase (steady, ramp, burst, churn), one result each.
	Phase string `yaml:"phase,omitempty" json:"phase,omitempty"`
	// Target narrows the check to one of the phase's targets, as written
	// in its targets list (e.g. "PUT /b"; "GET /" when it lists none).
	// Needs phase. Default: the phase's requests to every target together.
	Target string `yaml:"target,omitempty" json:"target,omitempty"`
	// ErrorRate: failed requests (transport errors and unexpected statuses) over all requests.
	ErrorRate Threshold `yaml:"error_rate,omitempty" json:"error_rate,omitempty"`
	// P50, P90, P99 and Max bound the latency percentiles.
	P50 Threshold `yaml:"p50,omitempty" json:"p50,omitempty"`
	P90 Threshold `yaml:"p90,omitempty" json:"p90,omitempty"`
	P99 Threshold `yaml:"p99,omitempty" json:"p99,omitempty"`
	Max Threshold `yaml:"max,omitempty" json:"max,omitempty"`
	// Rate bounds the requests sent over those planned, e.g. ">= 95%".
	Rate Threshold `yaml:"rate,omitempty" json:"rate,omitempty"`
}

var _ CheckSpec = (*LoadCheck)(nil)

// Kind implements CheckSpec.
func (*LoadCheck) Kind() string { return "load" }

func (c *LoadCheck) validate(v *validator, k string) {
	v.phaseRef(k+".phase", c.Phase, false)
	v.loadTarget(k, c.Phase, c.Target)
	n := 0
	for _, t := range c.Thresholds() {
		if t.Expr == "" {
			continue
		}
		n++
		if _, _, err := t.Expr.Parse(t.Percent); err != nil {
			v.fail(k+"."+t.Field, "%v", err)
		}
	}
	if n == 0 {
		v.fail(k, "give at least one threshold: error_rate, p50, p90, p99, max or rate")
	}
}

// loadTarget checks a load check's target against its phase's targets,
// with a suggestion for a near miss.
func (v *validator) loadTarget(k, phase, target string) {
	if target == "" {
		return
	}
	if phase == "" {
		v.fail(k+".target", "a target needs the phase it belongs to: give phase too")
		return
	}
	for _, p := range v.sc.Phases {
		if p == nil || p.Name != phase {
			continue
		}
		r := p.Requests()
		if r == nil {
			v.fail(k+".target", "phase %s (%s) has no targets: only rate-driven phases (steady, ramp, burst, churn) do", phase, p.Kind())
			return
		}
		names := r.TargetNames()
		if slices.Contains(names, strings.TrimSpace(target)) {
			return
		}
		msg := fmt.Sprintf("phase %s has no target %q (targets: %s)", phase, target, quoted(names))
		if best := closestTarget(target, names); best != "" {
			msg += fmt.Sprintf("; did you mean %q?", best)
		}
		v.fail(k+".target", "%s", msg)
		return
	}
}

// closestTarget is the target a user most likely meant: the one target
// that starts with what was written (a template's request without its
// templated tail), else the nearest by edit distance, case aside.
func closestTarget(got string, names []string) string {
	g := strings.ToLower(strings.TrimSpace(got))
	var prefixed []string
	for _, n := range names {
		if strings.HasPrefix(strings.ToLower(n), g) {
			prefixed = append(prefixed, n)
		}
	}
	if len(prefixed) == 1 {
		return prefixed[0]
	}
	if best, d := suggest.Closest(got, names, strings.ToLower); d >= 0 && d <= max(3, len(got)/3) {
		return best
	}
	return ""
}

// quoted joins names, each quoted.
func quoted(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = strconv.Quote(n)
	}
	return strings.Join(q, ", ")
}

// NamedThreshold is one threshold of a LoadCheck with its field name.
type NamedThreshold struct {
	Field   string
	Expr    Threshold
	Percent bool // a percentage, else a duration
}

// Thresholds lists the check's thresholds in a fixed order, set or not.
func (c *LoadCheck) Thresholds() []NamedThreshold {
	return []NamedThreshold{{"error_rate", c.ErrorRate, true}, {"p50", c.P50, false}, {"p90", c.P90, false},
		{"p99", c.P99, false}, {"max", c.Max, false}, {"rate", c.Rate, true}}
}

// Threshold is "OP VALUE": OP is <, <=, > or >=; VALUE a percentage
// ("1%", "95%") or a duration ("250ms").
type Threshold string

// Parse returns the operator and the value: a fraction (0.01 for "1%")
// when percent, else milliseconds.
func (t Threshold) Parse(percent bool) (op string, v float64, err error) {
	s := strings.TrimSpace(string(t))
	for _, o := range []string{"<=", ">=", "<", ">"} {
		if rest, ok := strings.CutPrefix(s, o); ok {
			op, s = o, strings.TrimSpace(rest)
			break
		}
	}
	if op == "" {
		return "", 0, fmt.Errorf("%q: start with <, <=, > or >=, e.g. \"< 1%%\" or \"< 250ms\"", string(t))
	}
	if percent {
		p, ok := strings.CutSuffix(s, "%")
		f, perr := strconv.ParseFloat(strings.TrimSpace(p), 64)
		if !ok || perr != nil || f < 0 || f > 100 {
			return "", 0, fmt.Errorf("%q: the value is a percentage from 0%% to 100%%, e.g. \"%s 1%%\"", string(t), op)
		}
		return op, f / 100, nil
	}
	d, derr := time.ParseDuration(s)
	if derr != nil || d < 0 {
		return "", 0, fmt.Errorf("%q: the value is a duration, e.g. \"%s 250ms\"", string(t), op)
	}
	return op, float64(d) / float64(time.Millisecond), nil
}

// Holds says whether v meets the threshold's operator against limit.
func Holds(op string, v, limit float64) bool {
	switch op {
	case "<":
		return v < limit
	case "<=":
		return v <= limit
	case ">":
		return v > limit
	case ">=":
		return v >= limit
	}
	return false
}
