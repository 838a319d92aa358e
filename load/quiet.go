package load

import (
	"context"
	"time"

	"github.com/soak-dev/soak/record"
	"github.com/soak-dev/soak/scenarios"
)

func init() {
	register(func(s *scenarios.Quiet) *quietPhase { return &quietPhase{d: s.Duration.D()} })
}

var _ Phase = (*quietPhase)(nil)

// quietPhase puts no load at all: the drain window in which the SUT's idle
// timeouts must act. It opens nothing, so the probes see the SUT's side only.
type quietPhase struct{ d time.Duration }

// Run implements Phase.
func (q *quietPhase) Run(ctx context.Context, env Env) (record.PhaseResult, error) {
	res := newResult(env, "quiet", time.Now())
	if !sleepCtx(ctx, q.d) && ctx.Err() != nil {
		res.Extra["interrupted"] = 1
	}
	return res, finishResult(env, &res, nil)
}
