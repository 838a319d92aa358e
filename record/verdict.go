package record

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"time"
)

// Check statuses.
const (
	StatusPass         = "pass"
	StatusFail         = "fail"
	StatusInconclusive = "inconclusive"
	// StatusError is a verdict that could not be made: the run never got
	// its SUT up, or lost data the checks needed. Verdict.Cause says why.
	StatusError = "error"
)

// Verdict is the outcome of a run's checks: verdict.json.
type Verdict struct {
	// Status is fail if any check failed, else inconclusive if any was, else pass.
	Status string        `json:"status"`
	Checks []CheckResult `json:"checks"`
	// RunEnded copies Meta.Ended so a reader of verdict.json alone knows if the run completed.
	RunEnded string    `json:"run_ended"`
	Made     time.Time `json:"made"`
	// Cause says why Status is error.
	Cause string `json:"cause,omitempty"`
}

// CheckResult is one check's outcome, with its evidence.
type CheckResult struct {
	// Name is a stable id, e.g. "reclaim/backend" or "no_growth/goroutines/target".
	Name   string `json:"name"`
	Kind   string `json:"kind"`
	Status string `json:"status"`
	// Value is the measured figure, Limit what it was held to, in Unit.
	Value float64 `json:"value"`
	Limit float64 `json:"limit"`
	Unit  string  `json:"unit,omitempty"`
	// At is the moment of the worst sample; Node and Layer where it was.
	At    time.Time `json:"at,omitempty"`
	Node  string    `json:"node,omitempty"`
	Layer string    `json:"layer,omitempty"`
	// Message is one line a person can act on.
	Message string `json:"message"`
	// Witnesses gives the figure each witness saw, where more than one did,
	// e.g. {"kernel": 41.0, "backend": 40.8}.
	Witnesses map[string]float64 `json:"witnesses,omitempty"`
	// Details holds further evidence lines (a disagreement between witnesses, the windows used...).
	Details []string `json:"details,omitempty"`
	// Reclaimed is the layer's effective idle timeout per witness (reclaim checks).
	Reclaimed []Reclaimed `json:"reclaimed,omitempty"`
	// Grew names the goroutine stacks that grew most from the baseline to
	// the end, when goroutines grew (no_growth, ratio).
	Grew []StackGrowth `json:"grew,omitempty"`
}

// WriteVerdict writes v as the run directory's verdict.json.
func (r *Run) WriteVerdict(v Verdict) error {
	if err := r.WriteJSON(v, VerdictFile); err != nil {
		return fmt.Errorf("write verdict: %w", err)
	}
	return nil
}

// Verdict reads the run's verdict.json; nil, nil when the run has none yet.
func (r *Run) Verdict() (*Verdict, error) {
	b, err := r.ReadFile(VerdictFile)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read verdict: %w", err)
	}
	var v Verdict
	if err := json.Unmarshal(b, &v); err != nil {
		return nil, fmt.Errorf("read verdict: %w", err)
	}
	return &v, nil
}
