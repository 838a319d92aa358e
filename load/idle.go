package load

import (
	"context"
	"errors"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/soak-dev/soak/record"
	"github.com/soak-dev/soak/scenarios"
)

func init() {
	register(func(s *scenarios.Idle) *idlePhase { return &idlePhase{spec: *s} })
}

var _ Phase = (*idlePhase)(nil)

// openWorkers bounds how many connections a hand-written phase opens at once.
const openWorkers = 64

// idlePhase opens Connections keep-alive connections, makes one request on
// each, then holds them silent. Written by hand because vegeta cannot hold
// idle connections: its transport keeps at most MaxIdleConnsPerHost and
// reuses them, and it offers no "request once, then stay silent". Held
// connections have no goroutine and no buffer: one watcher peeks at all of
// them, so 20,000 of them stay cheap.
type idlePhase struct {
	spec scenarios.Idle
	// timeout bounds each dial and request; 0: DefaultTimeout.
	timeout time.Duration
}

func timeoutOr(d time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return DefaultTimeout
}

// Run implements Phase.
func (p *idlePhase) Run(ctx context.Context, env Env) (record.PhaseResult, error) {
	res := newResult(env, "idle", time.Now())
	target := p.spec.Target
	if target == "" {
		target = DefaultTarget
	}
	tg, err := newTargeter([]string{target}, 0, nil, env)
	if err != nil {
		return res, err
	}
	n := max(p.spec.Connections, 0)
	led := newLedger(env, timeoutOr(p.timeout), sourcesFrom(p.spec.SourceAddrs, env.BaseURL, n))
	defer led.closeAll()

	hs, openFailed := openHeld(ctx, env, &res, led, tg, n, p.spec.OpenRate, "")
	res.Extra["connections"] = float64(n)
	res.Extra["opened"] = float64(len(hs))
	res.Extra["open_failed"] = float64(openFailed)
	if skipped := n - len(hs) - openFailed; skipped > 0 {
		res.Extra["open_skipped"] = float64(skipped) // interrupted, or the open stage ran out of time
	}

	// Hold: silent, watched.
	holdStart := time.Now()
	for _, h := range hs {
		h.since = holdStart
	}
	untilClosed := p.spec.Until == scenarios.IdleUntilClosed
	hold(ctx, hs, p.spec.Hold(), untilClosed)
	res.Extra["held_ms"] = float64(time.Since(holdStart).Milliseconds())
	if untilClosed {
		open := 0
		for _, h := range hs {
			if h.closedAt.IsZero() {
				open++
			}
		}
		// Still open at max: the client closes them, and their idle time is
		// only a lower bound of the SUT's timeout.
		res.Extra["open_at_max"] = float64(open)
	}
	closeFigures(res.Extra, "", hs, nil)

	if p.spec.ProbeReuse && ctx.Err() == nil {
		probeReuse(ctx, env, &res, tg, hs)
	}
	led.closeAll()
	res.End = time.Now()
	if ctx.Err() != nil {
		res.Extra["interrupted"] = 1
	}
	return res, finishResult(env, &res, led)
}

// hold waits d (or until ctx ends), peeking at the held connections; with
// untilClosed it returns as soon as the server has closed every one.
func hold(ctx context.Context, hs []*held, d time.Duration, untilClosed bool) {
	deadline := time.Now().Add(d)
	t := time.NewTicker(watchInterval(len(hs)))
	defer t.Stop()
	for {
		left := time.Until(deadline)
		if left <= 0 {
			watchOnce(hs, time.Now())
			return
		}
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			watchOnce(hs, now)
			if untilClosed && allClosed(hs) {
				return
			}
		case <-time.After(left):
		}
	}
}

func allClosed(hs []*held) bool {
	for _, h := range hs {
		if h.closedAt.IsZero() {
			return false
		}
	}
	return true
}

// openHeld opens n connections through led (at most openWorkers at once,
// at most rate per second when set); on each it sends one request, unless
// send is not empty: then it writes send instead and waits for nothing.
func openHeld(ctx context.Context, env Env, res *record.PhaseResult, led *ledger, tg *targeter, n int, rate scenarios.Rate, send string) ([]*held, int) {
	var (
		mu     sync.Mutex
		hs     []*held
		failed int
		wg     sync.WaitGroup
	)
	var every time.Duration
	if r := rate.PerSecond(); r > 0 {
		every = time.Duration(float64(time.Second) / r)
	}
	// Opening is bounded in time too: against a SUT that stops answering,
	// n connections one timeout each would take n/openWorkers timeouts.
	budget := 2*led.timeout + time.Duration(n)*max(every, time.Millisecond)
	ctx, cancel := context.WithTimeout(ctx, budget)
	defer cancel()
	jobs := make(chan int)
	for w := 0; w < min(openWorkers, n); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range jobs {
				h, status, kind := openOne(ctx, led, tg, send)
				mu.Lock()
				if kind != "" {
					failed++
					countErr(env, res, kind)
				}
				if send == "" && (status != 0 || kind != "") {
					res.Requests++
					if env.Stats != nil {
						env.Stats.Requests.Add(1)
					}
				}
				if status != 0 {
					res.StatusCodes[itoa(status)]++
				}
				if h != nil {
					hs = append(hs, h)
				}
				mu.Unlock()
			}
		}()
	}
	start := time.Now()
feed:
	for i := 0; i < n; i++ {
		if every > 0 {
			if !sleepCtx(ctx, time.Until(start.Add(time.Duration(i)*every))) {
				break
			}
		}
		select {
		case jobs <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(jobs)
	wg.Wait()
	return hs, failed
}

// openOne dials one connection and sends the phase's first bytes: a whole
// request (send == "") whose response it reads, or send as is.
func openOne(ctx context.Context, led *ledger, tg *targeter, send string) (h *held, status int, kind string) {
	method, url, err := tg.next()
	if err != nil {
		return nil, 0, ErrOther
	}
	rq, err := parseRawTarget(method, url)
	if err != nil {
		return nil, 0, ErrOther
	}
	dctx, cancel := context.WithTimeout(ctx, led.timeout)
	defer cancel()
	nc, err := led.DialContext(dctx, "tcp", rq.addr())
	if err != nil {
		return nil, 0, errKind(err.Error())
	}
	c := nc.(*ledgerConn)
	if send == "\x00" {
		return &held{c: c}, 0, ""
	}
	if send != "" {
		c.SetWriteDeadline(time.Now().Add(led.timeout))
		_, err := c.Write([]byte(strings.ReplaceAll(send, "{HEAD}", string(rq.head(nil, false)))))
		c.SetWriteDeadline(time.Time{})
		if err != nil {
			c.Close()
			return nil, 0, errKind(err.Error())
		}
		return &held{c: c}, 0, ""
	}
	stop := context.AfterFunc(ctx, func() { c.SetDeadline(time.Now()) }) // stop at once on interrupt
	status, err = roundTrip(c, rq.head(nil, true), method, led.timeout)
	stop()
	if err != nil {
		c.Close()
		return nil, status, errKind(err.Error())
	}
	return &held{c: c}, status, ""
}

// probeReuse sends one more request on each held connection and counts how
// many found it closed by the server (seen while held, or EOF/RST now).
func probeReuse(ctx context.Context, env Env, res *record.PhaseResult, tg *targeter, hs []*held) {
	var (
		mu                 sync.Mutex
		ok, closed, failed int
		wg                 sync.WaitGroup
	)
	jobs := make(chan *held)
	for w := 0; w < min(openWorkers, len(hs)); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for h := range jobs {
				r, status, kind := reuseOne(ctx, tg, h)
				mu.Lock()
				switch r {
				case "ok":
					ok++
				case "closed":
					closed++
				default:
					failed++
					countErr(env, res, kind)
				}
				// Requests that got an answer count in the status codes like
				// the hold's first requests, so success is answered / sent.
				if status != 0 {
					res.StatusCodes[itoa(status)]++
				}
				mu.Unlock()
			}
		}()
	}
	for _, h := range hs {
		if !h.closedAt.IsZero() {
			closed++
			continue
		}
		select {
		case jobs <- h:
		case <-ctx.Done():
		}
	}
	close(jobs)
	wg.Wait()
	res.Extra["reused_ok"] = float64(ok)
	res.Extra["reused_closed"] = float64(closed)
	res.Extra["reused_failed"] = float64(failed)
	res.Requests += uint64(ok + failed)
	if env.Stats != nil {
		env.Stats.Requests.Add(int64(ok + failed))
	}
}

func reuseOne(ctx context.Context, tg *targeter, h *held) (outcome string, status int, kind string) {
	method, url, err := tg.next()
	if err != nil {
		return "failed", 0, errKind(err.Error())
	}
	rq, err := parseRawTarget(method, url)
	if err != nil {
		return "failed", 0, errKind(err.Error())
	}
	stop := context.AfterFunc(ctx, func() { h.c.SetDeadline(time.Now()) })
	status, err = roundTrip(h.c, rq.head(nil, true), method, h.c.l.timeout)
	stop()
	switch {
	case err == nil:
		return "ok", status, ""
	case serverClosed(err) || errors.Is(err, io.ErrUnexpectedEOF):
		h.closedAt = time.Now()
		h.c.markServerClosed(h.closedAt)
		h.c.Close()
		return "closed", 0, ""
	}
	return "failed", status, errKind(err.Error())
}
