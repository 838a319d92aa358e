// Package checks turns a run directory into a verdict.
package checks

import (
	"errors"

	"github.com/soak-dev/soak/record"
	"github.com/soak-dev/soak/scenarios"
)

// Options tune evaluation.
type Options struct {
	// InconclusiveFails makes an inconclusive check fail the verdict.
	InconclusiveFails bool
}

// Evaluate runs the scenario's checks (or the defaults) on run.
func Evaluate(run *record.Run, sc *scenarios.Scenario, opts Options) (record.Verdict, error) {
	return record.Verdict{}, errors.New("checks: not implemented yet")
}

// Write writes verdict.json, junit.xml and summary.md into the run directory.
func Write(dir string, v record.Verdict) error { return errors.New("checks: not implemented yet") }
