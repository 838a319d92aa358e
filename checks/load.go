package checks

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/soak-dev/soak/record"
	"github.com/soak-dev/soak/scenarios"
)

func init() { register(loadCheck) }

// DefaultLoadGuard is the load guard every rate-driven phase gets when no
// load check names it: at least 90% of its requests succeed. A soak whose
// load mostly failed (an empty bucket, a SUT answering 500) measured
// nothing, however clean its connections look.
const DefaultLoadGuard scenarios.Threshold = "<= 10%"

// rateDriven are the phase kinds whose load is a paced request rate.
var rateDriven = []string{"steady", "ramp", "burst", "churn"}

// loadGuards returns a default load check for every rate-driven phase of sc
// that no load check in expect covers.
func loadGuards(sc *scenarios.Scenario, expect []*scenarios.Expectation) []*scenarios.Expectation {
	if sc == nil {
		return nil
	}
	covered := map[string]bool{}
	for _, e := range expect {
		// A check of one target leaves the phase's other targets unguarded.
		if e != nil && e.Load != nil && e.Load.Target == "" {
			if e.Load.Phase == "" {
				return nil
			}
			covered[e.Load.Phase] = true
		}
	}
	var out []*scenarios.Expectation
	for _, p := range sc.Phases {
		if p == nil || covered[p.Name] || !slices.Contains(rateDriven, p.Kind()) {
			continue
		}
		covered[p.Name] = true
		out = append(out, &scenarios.Expectation{Load: &scenarios.LoadCheck{Phase: p.Name, ErrorRate: DefaultLoadGuard}})
	}
	return out
}

// isGuard says whether c is a default load guard.
func isGuard(c *scenarios.LoadCheck) bool {
	return *c == scenarios.LoadCheck{Phase: c.Phase, ErrorRate: DefaultLoadGuard}
}

// loadCheck judges the thresholds on every run of the phase (of every
// rate-driven phase when none is named), one result per run.
func loadCheck(d *runData, c *scenarios.LoadCheck) []record.CheckResult {
	var runs []record.PhaseMeta
	if c.Phase != "" {
		runs = d.runsOf(c.Phase)
	} else {
		for _, p := range d.meta.Phases {
			if slices.Contains(rateDriven, p.Kind) {
				runs = append(runs, p)
			}
		}
	}
	if len(runs) == 0 {
		what := "no rate-driven phase ran"
		if c.Phase != "" {
			what = d.neverRan([]string{c.Phase})
		}
		return []record.CheckResult{{Name: "load/" + cmp.Or(c.Phase, "all"), Kind: "load", Status: record.StatusInconclusive,
			Message: what + "; no load to judge"}}
	}
	out := make([]record.CheckResult, 0, len(runs))
	for _, p := range runs {
		out = append(out, loadRun1(d, c, p))
	}
	return out
}

func loadRun1(d *runData, c *scenarios.LoadCheck, p record.PhaseMeta) record.CheckResult {
	r := record.CheckResult{Name: "load/" + p.Name, Kind: "load", Unit: "%", At: p.Start}
	res, ok := d.loads[p.Name]
	what := "phase " + p.Name
	if c.Target != "" {
		r.Name += "/" + c.Target
		what += ", target " + c.Target
	}
	switch {
	case !ok:
		r.Status, r.Message = record.StatusInconclusive, fmt.Sprintf("phase %s ran but left no load/%s.json: its load is unknown", p.Name, p.Name)
		return r
	case c.Target != "":
		tr, found := res.Target(c.Target)
		if !found {
			r.Status, r.Message = record.StatusInconclusive, fmt.Sprintf("%s: load/%s.json has no result for the target (targets: %s): its load is unknown",
				what, p.Name, targetNames(res))
			return r
		}
		res = targetView(res, tr, d.share(p.Base, c.Target))
	}
	if res.Requests == 0 {
		r.Status, r.Message = record.StatusInconclusive, fmt.Sprintf("%s sent no request: no load to judge", what)
		return r
	}
	errRate := 1 - res.Success
	r.Value = errRate * 100
	var broken, held, unknown []string
	for _, t := range c.Thresholds() {
		if t.Expr == "" {
			continue
		}
		op, limit, err := t.Expr.Parse(t.Percent)
		if err != nil {
			unknown = append(unknown, fmt.Sprintf("%s: %v", t.Field, err))
			continue
		}
		v, shown := loadFigure(res, t.Field)
		if t.Field == "rate" && res.PlannedRequests <= 0 {
			unknown = append(unknown, "rate: the phase planned no rate to compare with (rate 0 or not paced)")
			continue
		}
		line := fmt.Sprintf("%s %s (limit %s)", t.Field, shown, strings.TrimSpace(string(t.Expr)))
		holds := scenarios.Holds(op, v, limit)
		// value, limit and unit: of the first broken threshold, else the
		// error rate's, else the first one's.
		if len(broken) == 0 && (!holds || t.Field == "error_rate" || len(held) == 0) {
			r.Value, r.Limit, r.Unit = v, limit, "ms"
			if t.Percent {
				r.Value, r.Limit, r.Unit = v*100, limit*100, "%"
			}
		}
		if holds {
			held = append(held, line)
		} else {
			broken = append(broken, line)
		}
	}
	r.Details = append(r.Details, fmt.Sprintf("%d requests, %.1f/s sent, success %.1f%%, latency p50 %.1fms p90 %.1fms p99 %.1fms max %.1fms",
		res.Requests, res.Rate, res.Success*100, res.LatencyP50, res.LatencyP90, res.LatencyP99, res.LatencyMax))
	failures := failureKinds(res)
	if failures != "" {
		r.Details = append(r.Details, "failed: "+failures)
	}
	if c.Target == "" && len(res.Targets) > 1 {
		if bt := byTarget(res); bt != "" {
			r.Details = append(r.Details, "by target: "+bt)
			failures = "by target: " + bt
		}
	}
	guard := ""
	if isGuard(c) {
		guard = " (the default load guard: at least 90% of a rate-driven phase's requests succeed; list the codes a phase expects in its expect_status, or write a load check for it)"
	}
	switch {
	case len(broken) > 0:
		r.Status = record.StatusFail
		failed := uint64(errRate*float64(res.Requests) + 0.5)
		r.Message = fmt.Sprintf("%s: %s; %d of %d requests failed", what, strings.Join(broken, ", "), failed, res.Requests)
		if failures != "" {
			r.Message += ": " + failures
		}
		r.Message += guard
	case len(unknown) > 0:
		r.Status = record.StatusInconclusive
		r.Message = fmt.Sprintf("%s: %s", what, strings.Join(unknown, "; "))
	default:
		r.Status = record.StatusPass
		r.Message = fmt.Sprintf("%s: %s over %d requests", what, strings.Join(held, ", "), res.Requests)
	}
	return r
}

// targetView is a phase's result narrowed to one of its targets, which
// got share of the phase's planned requests.
func targetView(res record.PhaseResult, t record.TargetResult, share float64) record.PhaseResult {
	v := record.PhaseResult{Phase: res.Phase, Kind: res.Kind, Start: res.Start, End: res.End, Requests: t.Requests,
		Success: t.Success(), LatencyP50: t.LatencyP50, LatencyP90: t.LatencyP90, LatencyP99: t.LatencyP99, LatencyMax: t.LatencyMax,
		StatusCodes: t.StatusCodes, Errors: t.Errors, Examples: t.Examples, ExpectStatus: res.ExpectStatus,
		PlannedRequests: res.PlannedRequests * share}
	if s := res.End.Sub(res.Start).Seconds(); s > 0 {
		v.Rate = float64(t.Requests) / s
	}
	return v
}

// share is the part of phase's requests that go to target, by the
// scenario as run; 0 when the scenario does not say.
func (d *runData) share(phase, target string) float64 {
	if d.sc == nil {
		return 0
	}
	for _, p := range d.sc.Phases {
		if p != nil && p.Name == phase {
			if r := p.Requests(); r != nil {
				return r.Share(target)
			}
		}
	}
	return 0
}

// targetNames lists a result's targets, quoted.
func targetNames(res record.PhaseResult) string {
	if len(res.Targets) == 0 {
		return "none recorded"
	}
	var q []string
	for _, t := range res.Targets {
		q = append(q, strconv.Quote(t.Target))
	}
	return strings.Join(q, ", ")
}

// byTarget names the targets of a phase whose requests failed, most
// failures first (up to three), each with its top codes and one example:
// `"PUT /b": 120 of 120 failed: HTTP 500 x120 (e.g. PUT http://...: 500)`.
func byTarget(res record.PhaseResult) string {
	ts := slices.Clone(res.Targets)
	slices.SortStableFunc(ts, func(a, b record.TargetResult) int {
		return cmp.Compare(b.Requests-b.OK, a.Requests-a.OK)
	})
	var parts []string
	for _, t := range ts {
		if t.Requests == t.OK || len(parts) == 3 {
			continue
		}
		s := fmt.Sprintf("%q: %d of %d failed", t.Target, t.Requests-t.OK, t.Requests)
		if f := failureKinds(targetView(res, t, 0)); f != "" {
			s += ": " + f
		}
		parts = append(parts, s)
	}
	if len(parts) == 0 {
		return ""
	}
	if ok := len(ts) - countFailing(ts); ok > 0 {
		parts = append(parts, fmt.Sprintf("%d other target(s) had no failure", ok))
	}
	return strings.Join(parts, "; ")
}

func countFailing(ts []record.TargetResult) int {
	n := 0
	for _, t := range ts {
		if t.Requests != t.OK {
			n++
		}
	}
	return n
}

// loadFigure is a result's figure for a threshold field (a fraction or
// milliseconds) and how to show it.
func loadFigure(res record.PhaseResult, field string) (float64, string) {
	switch field {
	case "error_rate":
		return 1 - res.Success, fmt.Sprintf("%.1f%%", (1-res.Success)*100)
	case "rate":
		if res.PlannedRequests <= 0 {
			return 0, "unknown"
		}
		v := float64(res.Requests) / res.PlannedRequests
		return v, fmt.Sprintf("%.1f%% of the %.0f planned", v*100, res.PlannedRequests)
	}
	ms := map[string]float64{"p50": res.LatencyP50, "p90": res.LatencyP90, "p99": res.LatencyP99, "max": res.LatencyMax}[field]
	return ms, fmt.Sprintf("%.1fms", ms)
}

// failureKinds is the top three unexpected status codes and error kinds of
// a result with their counts, and one example request: "HTTP 404 x24000,
// eof x3 (e.g. GET http://...: 404)".
func failureKinds(res record.PhaseResult) string {
	type kc struct {
		key, label string
		n          int
	}
	req := scenarios.Requests{ExpectStatus: res.ExpectStatus}
	var all []kc
	for code, n := range res.StatusCodes {
		if c, err := strconv.Atoi(code); err == nil && !req.Succeeded(c) && n > 0 {
			all = append(all, kc{code, "HTTP " + code, n})
		}
	}
	for kind, n := range res.Errors {
		if n > 0 {
			all = append(all, kc{kind, kind, n})
		}
	}
	if len(all) == 0 {
		return ""
	}
	slices.SortFunc(all, func(a, b kc) int { return cmp.Or(cmp.Compare(b.n, a.n), cmp.Compare(a.key, b.key)) })
	var parts []string
	for _, k := range all[:min(3, len(all))] {
		parts = append(parts, fmt.Sprintf("%s x%d", k.label, k.n))
	}
	if len(all) > 3 {
		parts = append(parts, fmt.Sprintf("%d more kinds", len(all)-3))
	}
	s := strings.Join(parts, ", ")
	if ex := res.Examples[all[0].key]; ex != "" {
		s += " (e.g. " + ex + ")"
	}
	return s
}
