package load

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/soak-dev/soak/record"
	"github.com/soak-dev/soak/scenarios"
)

func init() {
	register(func(s *scenarios.Slow) *slowPhase { return &slowPhase{spec: *s} })
}

var _ Phase = (*slowPhase)(nil)

// Slow modes.
const (
	SlowHeaders = "headers" // request headers a few bytes at a time, never finished
	SlowBody    = "body"    // whole headers, then a body a few bytes at a time
	SlowRead    = "read"    // whole requests, responses read a few bytes at a time
)

// slowTick is the shortest pause between two slow writes or reads; at
// rates above 10 B/s several bytes go per tick.
const slowTick = 100 * time.Millisecond

// slowPhase runs slowloris-style clients: each connection sends or reads
// at Rate bytes per second for Duration and records what the server did
// (answered with a status, closed after how long). Written by hand because
// vegeta writes and reads at full speed.
type slowPhase struct {
	spec scenarios.Slow
	// timeout bounds each dial; 0: DefaultTimeout.
	timeout time.Duration
}

// slowClient is one slow connection; the writer and the reader goroutine
// both note the server's close.
type slowClient struct {
	c     *ledgerConn
	start time.Time

	mu        sync.Mutex
	closedAt  time.Time
	status    int
	responses int
}

func (s *slowClient) serverClosed(t time.Time) {
	s.mu.Lock()
	if s.closedAt.IsZero() {
		s.closedAt = t
	}
	s.mu.Unlock()
	s.c.markServerClosed(t)
}

func (s *slowClient) gotStatus(code int) {
	s.mu.Lock()
	if s.status == 0 {
		s.status = code
	}
	s.responses++
	s.mu.Unlock()
}

// Run implements Phase.
func (p *slowPhase) Run(ctx context.Context, env Env) (record.PhaseResult, error) {
	res := newResult(env, "slow", time.Now())
	mode := p.spec.Mode
	if mode == "" {
		mode = SlowHeaders
	}
	if mode != SlowHeaders && mode != SlowBody && mode != SlowRead {
		return res, fmt.Errorf("phase %s: slow mode %q is not headers, body or read", env.Phase, mode)
	}
	rate := int64(p.spec.Rate)
	if rate <= 0 {
		rate = DefaultSlowRate
	}
	target := p.spec.Target
	if target == "" {
		target = DefaultTarget
		if mode == SlowBody {
			target = "PUT /"
		}
	}
	tg, err := newTargeter([]string{target}, 0, nil, env)
	if err != nil {
		return res, err
	}
	n := max(p.spec.Connections, 0)
	d := p.spec.Duration.D()
	led := newLedger(env, timeoutOr(p.timeout), sourcesFor(env.BaseURL, n))
	defer led.closeAll()
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()

	// Dial all first (bounded), then run them together.
	var clients []*slowClient
	var reqs []rawRequest
	for i := 0; i < n && ctx.Err() == nil; i++ {
		method, url, err := tg.next()
		if err != nil {
			return res, err
		}
		rq, err := parseRawTarget(method, url)
		if err != nil {
			return res, fmt.Errorf("phase %s: %w", env.Phase, err)
		}
		dctx, dcancel := context.WithTimeout(ctx, led.timeout)
		nc, err := led.DialContext(dctx, "tcp", rq.addr())
		dcancel()
		if err != nil {
			countErr(env, &res, errKind(err.Error()))
			continue
		}
		clients = append(clients, &slowClient{c: nc.(*ledgerConn), start: time.Now()})
		reqs = append(reqs, rq)
	}
	res.Extra["connections"] = float64(n)
	res.Extra["opened"] = float64(len(clients))
	res.Extra["open_failed"] = float64(n - len(clients))

	var wg sync.WaitGroup
	for i, sc := range clients {
		wg.Add(2)
		go func() { defer wg.Done(); slowWrite(ctx, sc, reqs[i], mode, rate, d) }()
		go func() { defer wg.Done(); slowRead(ctx, sc, reqs[i], mode, rate) }()
	}
	<-ctx.Done()
	led.closeAll() // unblocks every reader and writer
	wg.Wait()

	var ages []float64
	for _, sc := range clients {
		if sc.status != 0 {
			res.StatusCodes[strconv.Itoa(sc.status)]++
		}
		res.Requests += uint64(sc.responses)
		if !sc.closedAt.IsZero() {
			ages = append(ages, float64(sc.closedAt.Sub(sc.start).Milliseconds()))
		}
	}
	res.Extra["closed_by_server"] = float64(len(ages))
	if len(ages) > 0 {
		sortFloats(ages)
		res.Extra["closed_after_ms_min"] = ages[0]
		res.Extra["closed_after_ms_p50"] = ages[len(ages)/2]
		res.Extra["closed_after_ms_max"] = ages[len(ages)-1]
	}
	res.End = time.Now()
	if cause := context.Cause(ctx); cause != nil && cause != context.DeadlineExceeded {
		res.Extra["interrupted"] = 1
	}
	return res, finishResult(env, &res, led)
}

// slowStream is what a slow writer sends: a prefix at full speed, then the
// slow part, generated without end.
func slowStream(rq rawRequest, mode string, rate int64, d time.Duration) (fast []byte, slow func(i int64) byte) {
	switch mode {
	case SlowHeaders:
		// Header lines that never end the header block.
		line := []byte("X-Soak-Slow: aaaaaaaaaaaaaaaa\r\n")
		return nil, func(i int64) byte {
			head := rq.head(nil, false)
			if i < int64(len(head)) {
				return head[i]
			}
			return line[(i-int64(len(head)))%int64(len(line))]
		}
	case SlowBody:
		// A body longer than the phase can send.
		size := rate*int64(d/time.Second+1) + 1
		fast = rq.head(map[string]string{"Content-Length": strconv.FormatInt(size, 10), "Content-Type": "application/octet-stream"}, true)
		return fast, func(i int64) byte { return 'a' + byte(i%26) }
	}
	return rq.head(nil, true), nil
}

// slowWrite writes the mode's stream at rate bytes per second until ctx
// ends or the server closes. In read mode it writes one whole request per
// response read.
func slowWrite(ctx context.Context, sc *slowClient, rq rawRequest, mode string, rate int64, d time.Duration) {
	fast, slow := slowStream(rq, mode, rate, d)
	if len(fast) > 0 {
		if _, err := sc.c.Write(fast); err != nil {
			if serverClosed(err) {
				sc.serverClosed(time.Now())
			}
			return
		}
	}
	if slow == nil {
		return // read mode: the reader sends the next requests
	}
	per, tick := slowChunk(rate)
	buf := make([]byte, per)
	var i int64
	t := time.NewTicker(tick)
	defer t.Stop()
	for {
		for j := range buf {
			buf[j] = slow(i)
			i++
		}
		if _, err := sc.c.Write(buf); err != nil {
			if serverClosed(err) {
				sc.serverClosed(time.Now())
			}
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// slowChunk splits rate bytes per second into per bytes every tick.
func slowChunk(rate int64) (per int, tick time.Duration) {
	if rate*int64(slowTick)/int64(time.Second) < 1 {
		return 1, time.Duration(int64(time.Second) / rate)
	}
	return int(rate * int64(slowTick) / int64(time.Second)), slowTick
}

// slowRead reads the server's answers (at rate bytes per second in read
// mode) and notes its close. It ends when the connection is closed.
func slowRead(ctx context.Context, sc *slowClient, rq rawRequest, mode string, rate int64) {
	var r io.Reader = sc.c
	if mode == SlowRead {
		if tc, ok := sc.c.Conn.(*net.TCPConn); ok {
			// A small receive buffer makes the server feel the slow reader early.
			tc.SetReadBuffer(int(max(rate, 1024)))
		}
		r = &throttled{ctx: ctx, r: sc.c, rate: rate}
	}
	br := bufio.NewReaderSize(r, 1024)
	for {
		resp, err := http.ReadResponse(br, &http.Request{Method: rq.method})
		if err != nil {
			if serverClosed(err) || err == io.ErrUnexpectedEOF {
				sc.serverClosed(time.Now())
			}
			return
		}
		sc.gotStatus(resp.StatusCode)
		_, err = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if err != nil {
			if serverClosed(err) || err == io.ErrUnexpectedEOF {
				sc.serverClosed(time.Now())
			}
			return
		}
		if mode != SlowRead || resp.Close || ctx.Err() != nil {
			// Headers and body modes: the server answered; wait for its close.
			if _, err := io.Copy(io.Discard, br); err == nil {
				sc.serverClosed(time.Now()) // a clean EOF
			} else if serverClosed(err) {
				sc.serverClosed(time.Now())
			}
			return
		}
		if _, err := sc.c.Write(rq.head(nil, true)); err != nil {
			if serverClosed(err) {
				sc.serverClosed(time.Now())
			}
			return
		}
	}
}

// throttled reads at most rate bytes per second.
type throttled struct {
	ctx  context.Context
	r    io.Reader
	rate int64
}

func (t *throttled) Read(p []byte) (int, error) {
	if err := t.ctx.Err(); err != nil {
		// The phase is over: stop reading rather than drain at full speed.
		return 0, err
	}
	per, tick := slowChunk(t.rate)
	if len(p) > per {
		p = p[:per]
	}
	n, err := t.r.Read(p)
	if n > 0 && err == nil {
		select {
		case <-t.ctx.Done():
		case <-time.After(tick):
		}
	}
	return n, err
}
