// Package checks turns a run directory into a verdict: each scenario
// expectation (or the defaults) becomes pass, fail or inconclusive with its
// evidence: the measured value, the limit, the moment, node and layer of the
// worst sample, and one line a person can act on. docs/checks.md documents
// every check.
package checks

import (
	"errors"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/soak-dev/soak/record"
	"github.com/soak-dev/soak/scenarios"
)

// Options tune evaluation.
type Options struct {
	// InconclusiveFails makes an inconclusive check fail the verdict.
	InconclusiveFails bool
	// Now stamps the verdict (Verdict.Made). Default time.Now.
	Now func() time.Time
}

// Evaluate runs the scenario's checks (or the defaults) on run. A nil sc
// means the scenario the run directory keeps (scenario.yaml), which is what
// the runner and `soak report --recheck` both judge by. Missing or
// thin data makes a check inconclusive, not an error; errors are for
// reading the run directory.
func Evaluate(run *record.Run, sc *scenarios.Scenario, opts Options) (record.Verdict, error) {
	if run == nil {
		return record.Verdict{}, errors.New("checks: no run")
	}
	if run.MetaErr != nil {
		// Without meta.json no window or layer is known: judging would
		// only give passes nobody saw.
		return record.Verdict{}, fmt.Errorf("checks: %w", run.MetaErr)
	}
	if sc == nil {
		// The run directory keeps the scenario as run: judge by it, scaled
		// as it ran, so the runner and `soak report --recheck` agree.
		if b, err := run.Scenario(); err == nil {
			if sc, err = scenarios.ParseScenario(run.Path(record.ScenarioFile), b); err != nil {
				return record.Verdict{}, fmt.Errorf("checks: %w", err)
			}
			sc.ScaleDurations(run.Meta.DurationScale)
		} else if !errors.Is(err, os.ErrNotExist) {
			return record.Verdict{}, fmt.Errorf("checks: %w", err)
		}
	}
	now := time.Now
	if opts.Now != nil {
		now = opts.Now
	}
	if why := neverSetUp(run.Meta); why != "" {
		// No check had a chance: listing them would only hide the cause.
		return record.Verdict{Status: record.StatusError, RunEnded: run.Meta.Ended, Made: now(), Cause: why}, nil
	}
	d, err := loadRun(run, sc)
	if err != nil {
		return record.Verdict{}, fmt.Errorf("checks: %w", err)
	}
	expect := Defaults(sc)
	if sc != nil && len(sc.Expect) > 0 {
		expect = sc.Expect
	}
	// Every rate-driven phase that no load check names gets the default guard.
	expect = append(slices.Clip(expect), loadGuards(sc, expect)...)
	v := record.Verdict{RunEnded: run.Meta.Ended, Made: now()}
	for _, e := range expect {
		v.Checks = append(v.Checks, evaluateOne(d, e)...)
	}
	if len(v.Checks) == 0 {
		v.Checks = append(v.Checks, record.CheckResult{Name: "none", Kind: "none", Status: record.StatusInconclusive,
			Message: "no checks to run: the scenario has no expect list and no layers or nodes to derive defaults from"})
	}
	seen := map[string]int{}
	for i := range v.Checks {
		c := &v.Checks[i]
		// Names are ids in JUnit and reports: keep them unique.
		if seen[c.Name]++; seen[c.Name] > 1 {
			c.Name = fmt.Sprintf("%s#%d", c.Name, seen[c.Name])
		}
		// The run's own --inconclusive-fails holds on a recheck too.
		if c.Status == record.StatusInconclusive && (opts.InconclusiveFails || run.Meta.InconclusiveFails) {
			c.Status = record.StatusFail
			c.Message += " (inconclusive counts as failed)"
		}
	}
	v.Status = overall(v.Checks)
	if len(run.Meta.Lost) > 0 {
		// The checks saw part of the run: their evidence stays, their verdict cannot.
		v.Status, v.Cause = record.StatusError, "lost data: "+strings.Join(run.Meta.Lost, "; ")
	}
	return v, nil
}

// neverSetUp is the cause of a run that ended before its first phase (a
// node that could not start, a port in use), or "".
func neverSetUp(m record.Meta) string {
	if len(m.Phases) > 0 || (m.Ended != record.EndedError && m.Ended != record.EndedSUTFailed) {
		return ""
	}
	if m.Cause == "" {
		return "the run ended (" + m.Ended + ") before its first phase"
	}
	return m.Cause
}

// overall is fail if any check failed, else inconclusive if any was, else pass.
func overall(cs []record.CheckResult) string {
	status := record.StatusPass
	for _, c := range cs {
		switch c.Status {
		case record.StatusFail:
			return record.StatusFail
		case record.StatusInconclusive:
			status = record.StatusInconclusive
		}
	}
	return status
}

// evaluators judge the checks, by kind (scenarios.CheckSpec.Kind). Each
// kind's file registers its evaluator in init (node_exporter's
// registerCollector), so this file names no kind.
var evaluators = map[string]func(*runData, scenarios.CheckSpec) []record.CheckResult{}

// register makes eval the evaluator of its spec type's kind. A kind
// registered twice is a programming error: it panics at init, so every
// test catches it.
func register[S scenarios.CheckSpec](eval func(*runData, S) []record.CheckResult) {
	var zero S // a nil pointer: Kind does not look at it
	kind := zero.Kind()
	if _, dup := evaluators[kind]; dup {
		panic("checks: check kind " + kind + " registered twice")
	}
	evaluators[kind] = func(d *runData, s scenarios.CheckSpec) []record.CheckResult { return eval(d, s.(S)) }
}

// one adapts a check that gives one result (not one per node) to register.
func one[S scenarios.CheckSpec](eval func(*runData, S) record.CheckResult) func(*runData, S) []record.CheckResult {
	return func(d *runData, s S) []record.CheckResult { return []record.CheckResult{eval(d, s)} }
}

// Kinds returns the registered check kinds, sorted.
func Kinds() []string { return slices.Sorted(maps.Keys(evaluators)) }

func evaluateOne(d *runData, e *scenarios.Expectation) []record.CheckResult {
	if e == nil {
		return nil
	}
	spec := e.Spec()
	if spec == nil {
		return []record.CheckResult{{Name: "unknown", Kind: "unknown", Status: record.StatusInconclusive,
			Message: "an expectation with no kind set; fix the scenario's expect list"}}
	}
	eval, ok := evaluators[spec.Kind()]
	if !ok {
		return []record.CheckResult{{Name: spec.Kind(), Kind: spec.Kind(), Status: record.StatusInconclusive,
			Message: fmt.Sprintf("check kind %q has no evaluation in this soak build", spec.Kind())}}
	}
	return eval(d, spec)
}
