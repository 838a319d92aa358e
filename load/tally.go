package load

import (
	"strconv"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/soak-dev/soak/record"
)

// tally counts a rate-driven phase's results per target
// (record.PhaseResult.Targets). Not safe for concurrent use: the attack
// loop reads the results one at a time.
type tally struct {
	targets []targetTally
	lost    targetTally // results attribute could not place (none expected)
}

type targetTally struct {
	res record.TargetResult
	lat vegeta.LatencyMetrics
}

func newTally(names []string) *tally {
	t := &tally{targets: make([]targetTally, len(names))}
	for i, n := range names {
		t.targets[i].res.Target = n
	}
	return t
}

// of returns the tally of target i (an index in the targeter's names).
func (t *tally) of(i int) *targetTally {
	if i < 0 || i >= len(t.targets) {
		return &t.lost
	}
	return &t.targets[i]
}

// add counts one result: its request, status code and latency. Success
// and failures are counted by the caller, which knows the phase's codes.
func (tt *targetTally) add(r *vegeta.Result) {
	tt.res.Requests++
	if r.Code != 0 {
		if tt.res.StatusCodes == nil {
			tt.res.StatusCodes = map[string]int{}
		}
		tt.res.StatusCodes[strconv.Itoa(int(r.Code))]++
	}
	tt.lat.Add(r.Latency)
}

// failedKind counts a request that got no response, by error kind.
func (tt *targetTally) failedKind(kind, ex string) {
	if tt.res.Errors == nil {
		tt.res.Errors = map[string]int{}
	}
	tt.res.Errors[kind]++
	example(&tt.res.Examples, kind, ex)
}

// results returns every target's result with its latencies.
func (t *tally) results() []record.TargetResult {
	out := make([]record.TargetResult, len(t.targets))
	for i := range t.targets {
		tt := &t.targets[i]
		if tt.res.Requests > 0 {
			tt.res.LatencyP50 = ms(tt.lat.Quantile(0.5))
			tt.res.LatencyP90 = ms(tt.lat.Quantile(0.9))
			tt.res.LatencyP99 = ms(tt.lat.Quantile(0.99))
			tt.res.LatencyMax = ms(tt.lat.Max)
		}
		out[i] = tt.res
	}
	return out
}
