package load

import (
	"fmt"
	"time"

	"github.com/soak-dev/soak/record"
)

// newResult starts a PhaseResult for env.
func newResult(env Env, kind string, start time.Time) record.PhaseResult {
	return record.PhaseResult{Phase: env.Phase, Kind: kind, Start: start,
		StatusCodes: map[string]int{}, Errors: map[string]int{}, Extra: map[string]float64{}}
}

// finishResult fills the ledger's counts and writes res as
// RunDir/load/<phase>.json (when RunDir is set).
func finishResult(env Env, res *record.PhaseResult, led *ledger) error {
	if res.End.IsZero() {
		res.End = time.Now()
	}
	var sinkErr error
	if led != nil {
		res.ConnsOpened, res.ConnsClosedBy, sinkErr = led.counts()
		if n := led.sources.count(); n > 0 {
			res.Extra["source_addrs"] = float64(n)
		}
	}
	if len(res.StatusCodes) == 0 {
		res.StatusCodes = nil
	}
	if len(res.Errors) == 0 {
		res.Errors = nil
	}
	if len(res.Extra) == 0 {
		res.Extra = nil
	}
	if sinkErr != nil {
		return fmt.Errorf("phase %s: write connection ledger: %w", env.Phase, sinkErr)
	}
	if env.RunDir == "" {
		return nil
	}
	return record.WritePhaseResult(env.RunDir, *res)
}

// countErr counts a failed request of kind.
func countErr(env Env, res *record.PhaseResult, kind string) {
	res.Errors[kind]++
	if env.Stats != nil {
		env.Stats.Errors.Add(1)
	}
}
