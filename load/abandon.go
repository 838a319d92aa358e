package load

import (
	"context"
	"fmt"
	"time"

	"github.com/soak-dev/soak/record"
	"github.com/soak-dev/soak/scenarios"
)

func init() {
	register(func(s *scenarios.Abandon) *abandonPhase { return &abandonPhase{spec: *s} })
}

var _ Phase = (*abandonPhase)(nil)

// What an abandoned client sends before it goes silent ({HEAD} is the
// request line and headers, without the blank line that ends them).
var abandonSends = map[string]string{
	"nothing":         "",
	"partial-headers": "{HEAD}X-Soak-Abandon: ",
	"partial-body":    "{HEAD}Content-Type: application/octet-stream\r\nContent-Length: 1048576\r\n\r\nsoak-partial-body",
}

// DefaultAbandonSend is what abandoned clients send when a phase says nothing.
const DefaultAbandonSend = "partial-headers"

// abandonPhase opens connections, sends a partial request (or nothing) and
// never touches them again during the phase. Written by hand because
// vegeta only sends whole requests. The connections are never closed
// during the phase; one watcher records when the server closes them.
type abandonPhase struct {
	spec scenarios.Abandon
	// timeout bounds each dial and write; 0: DefaultTimeout.
	timeout time.Duration
}

// Run implements Phase.
func (p *abandonPhase) Run(ctx context.Context, env Env) (record.PhaseResult, error) {
	res := newResult(env, "abandon", time.Now())
	mode := p.spec.Send
	if mode == "" {
		mode = DefaultAbandonSend
	}
	send, ok := abandonSends[mode]
	if !ok {
		return res, fmt.Errorf("phase %s: abandon send %q is not nothing, partial-headers or partial-body", env.Phase, mode)
	}
	if mode == "nothing" {
		send = "\x00" // a marker: dial only
	}
	target := p.spec.Target
	if target == "" {
		target = DefaultTarget
	}
	if mode == "partial-body" && p.spec.Target == "" {
		target = "PUT /"
	}
	tg, err := newTargeter([]string{target}, 0, nil, env)
	if err != nil {
		return res, err
	}
	n := max(p.spec.Connections, 0)
	led := newLedger(env, timeoutOr(p.timeout), sourcesFor(env.BaseURL, n))
	defer led.closeAll()

	hs, failed := openHeld(ctx, env, &res, led, tg, n, scenarios.Rate{}, send)
	res.Extra["connections"] = float64(n)
	res.Extra["opened"] = float64(len(hs))
	res.Extra["open_failed"] = float64(failed)
	if skipped := n - len(hs) - failed; skipped > 0 {
		res.Extra["open_skipped"] = float64(skipped) // interrupted, or the open stage ran out of time
	}
	start := time.Now()
	for _, h := range hs {
		h.since = start
	}
	hold(ctx, hs, p.spec.Duration.D(), false)
	closeFigures(res.Extra, "", hs, &res)
	res.Extra["open_at_end"] = res.Extra["opened"] - res.Extra["closed_by_server"]
	led.closeAll()
	res.End = time.Now()
	if ctx.Err() != nil {
		res.Extra["interrupted"] = 1
	}
	return res, finishResult(env, &res, led)
}
