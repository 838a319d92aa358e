package load

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"net/http"
	"os"
	"strconv"
	"sync"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/soak-dev/soak/record"
	"github.com/soak-dev/soak/scenarios"
)

var _ Phase = (*attackPhase)(nil)

// attackStep is one vegeta attack of a rate-driven phase: a burst, or the
// whole of a steady phase.
type attackStep struct {
	pacer vegeta.Pacer
	du    time.Duration // 0: until the pacer stops
	pause time.Duration // before this step
}

// attackPhase is a rate-driven phase on vegeta's library: steady, ramp,
// burst and churn differ only in pacers and keep-alive.
type attackPhase struct {
	kind      string
	req       scenarios.Requests
	keepAlive bool
	steps     []attackStep
	// need is how many sockets the phase may use from one source address
	// (churn: its TIME_WAIT), to decide on spreading source addresses.
	need int
}

// requestOpts are a Requests with the defaults applied.
type requestOpts struct {
	conns, workers int
	timeout        time.Duration
	keepAlive      bool
}

func optsOf(r scenarios.Requests) requestOpts {
	o := requestOpts{conns: r.Connections, workers: r.Workers, timeout: r.Timeout.D(), keepAlive: true}
	if o.conns <= 0 {
		o.conns = DefaultConnections
	}
	if o.workers <= 0 {
		o.workers = DefaultWorkers
	}
	if o.timeout <= 0 {
		o.timeout = DefaultTimeout
	}
	if r.KeepAlive != nil {
		o.keepAlive = *r.KeepAlive
	}
	return o
}

// Run implements Phase.
func (a *attackPhase) Run(ctx context.Context, env Env) (record.PhaseResult, error) {
	o := optsOf(a.req)
	keepAlive := o.keepAlive && a.keepAlive
	tg, err := newTargeter(a.req.Targets, int64(a.req.Body), a.req.Headers, env)
	if err != nil {
		return record.PhaseResult{}, fmt.Errorf("phase %s: %w", env.Phase, err)
	}
	tg.track()
	live := newLive(env.Phase, a.kind, tg.names)
	tg.live = live
	if env.Stats != nil {
		env.Stats.live.Store(live)
		defer env.Stats.live.CompareAndSwap(live, nil)
	}
	led := newLedger(env, o.timeout, sourcesFor(env.BaseURL, max(a.need, o.conns)))
	// The transport is vegeta's, built here so every dial goes through the
	// ledger. Like vegeta, it never sets IdleConnTimeout: idle connections
	// live until the SUT closes them.
	tr := &http.Transport{
		DialContext:         led.DialContext,
		MaxIdleConnsPerHost: o.conns,
		MaxConnsPerHost:     o.conns,
		DisableKeepAlives:   !keepAlive,
	}
	if a.req.HTTP2 {
		tr.Protocols = new(http.Protocols)
		tr.Protocols.SetUnencryptedHTTP2(true)
	}
	// No per-request context: deriving every request from the phase's
	// context made all workers contend on its lock (0.81x of plain vegeta
	// at full speed; 0.99x without). A cancelled phase closes the
	// connections instead, which ends in-flight requests at once.
	client := &http.Client{Transport: tr, Timeout: o.timeout}

	res := newResult(env, a.kind, time.Now())
	var f, tf *os.File
	if env.RunDir != "" {
		res.VegetaResults = record.PhaseFile(env.Phase, ".results.gob")
		if f, err = record.CreatePhaseFile(env.RunDir, env.Phase, ".results.gob"); err != nil {
			return res, err
		}
		res.TargetIndexes = record.PhaseFile(env.Phase, record.TargetIndexesSuffix)
		if tf, err = record.CreatePhaseFile(env.RunDir, env.Phase, record.TargetIndexesSuffix); err != nil {
			f.Close()
			return res, err
		}
	}
	var (
		bw, tw *bufio.Writer
		enc    vegeta.Encoder
		encErr error
		m      vegeta.Metrics
		ok     uint64 // responses with an expected status
		tally  = newTally(tg.names)
	)
	if f != nil {
		bw = bufio.NewWriterSize(f, 64<<10)
		enc = vegeta.NewEncoder(bw)
		tw = bufio.NewWriterSize(tf, 4<<10)
	}
	for i, st := range a.steps {
		if i > 0 && !sleepCtx(ctx, st.pause) {
			break
		}
		if ctx.Err() != nil {
			break
		}
		atk := vegeta.NewAttacker(vegeta.Client(client), vegeta.Workers(uint64(o.workers)),
			vegeta.MaxWorkers(uint64(max(o.workers, o.conns))))
		var wg sync.WaitGroup
		done := make(chan struct{})
		wg.Add(1)
		go func() {
			defer wg.Done()
			select {
			case <-ctx.Done():
				atk.Stop()
				led.closeAll()
			case <-done:
			}
		}()
		live.stepStarted(st.pacer, st.du, time.Now())
		for r := range atk.Attack(tg.vegeta(), st.pacer, st.du, env.Phase) {
			if env.Stats != nil {
				env.Stats.Requests.Add(1)
			}
			ti := tg.attribute(r.Method, r.URL)
			tr := tally.of(ti)
			okBefore := ok
			switch {
			case r.Code == 0 && r.Error != "":
				kind := errKind(r.Error)
				countErr(env, &res, kind)
				ex := r.Method + " " + r.URL + ": " + r.Error
				example(&res.Examples, kind, ex)
				tr.failedKind(kind, ex)
			case !a.req.Succeeded(int(r.Code)):
				if env.Stats != nil {
					env.Stats.Errors.Add(1)
				}
				code, ex := strconv.Itoa(int(r.Code)), fmt.Sprintf("%s %s: %d", r.Method, r.URL, r.Code)
				example(&res.Examples, code, ex)
				example(&tr.res.Examples, code, ex)
			default:
				ok++
				tr.res.OK++
			}
			tr.add(r)
			live.done(ti, r.Latency, ok == okBefore)
			m.Add(r)
			// Bodies and headers would bloat the file and memory; vegeta report needs neither.
			r.Body, r.Headers = nil, nil
			if enc != nil && encErr == nil {
				if encErr = enc.Encode(r); encErr == nil {
					encErr = writeTargetIndex(tw, ti)
				}
			}
		}
		live.stepEnded(time.Now())
		close(done)
		wg.Wait()
	}
	m.Close()
	tr.CloseIdleConnections()
	led.closeAll()

	res.End = time.Now()
	if ctx.Err() != nil {
		res.Extra["interrupted"] = 1
	}
	res.Requests = m.Requests
	res.Rate, res.Throughput, res.Success = m.Rate, m.Throughput, m.Success
	if len(a.req.ExpectStatus) > 0 && m.Requests > 0 {
		// vegeta counts 2xx-3xx; the phase said which codes it expects.
		res.Success = float64(ok) / float64(m.Requests)
		res.ExpectStatus = a.req.ExpectStatus
	}
	res.PlannedRequests = a.planned()
	if ctx.Err() != nil {
		// Stopped early (an abort, a signal): what was planned until then,
		// so a rate threshold compares like with like.
		res.PlannedRequests = live.Snapshot(res.End).Planned
	}
	res.LatencyP50 = ms(m.Latencies.P50)
	res.LatencyP90 = ms(m.Latencies.P90)
	res.LatencyP99 = ms(m.Latencies.P99)
	res.LatencyMax = ms(m.Latencies.Max)
	for code, n := range m.StatusCodes {
		if code != "0" {
			res.StatusCodes[code] = n
		}
	}
	res.Targets = tally.results()
	res.Extra["bytes_in"] = float64(m.BytesIn.Total)
	res.Extra["bytes_out"] = float64(m.BytesOut.Total)
	if f != nil {
		if err := bw.Flush(); err != nil && encErr == nil {
			encErr = err
		}
		if err := f.Close(); err != nil && encErr == nil {
			encErr = err
		}
		if err := errors.Join(tw.Flush(), tf.Close()); err != nil && encErr == nil {
			encErr = err
		}
	}
	if err := finishResult(env, &res, led); err != nil {
		return res, err
	}
	if encErr != nil {
		return res, fmt.Errorf("phase %s: write vegeta results: %w", env.Phase, encErr)
	}
	return res, nil
}

// writeTargetIndex notes the target the result just encoded went to (ti,
// an index in the tally's targets, -1 for none) as record.PhaseResult.TargetIndexes says.
func writeTargetIndex(w *bufio.Writer, ti int) error {
	var b [binary.MaxVarintLen64]byte
	_, err := w.Write(b[:binary.PutUvarint(b[:], uint64(ti+1))])
	return err
}

// example keeps the first failed request of key (a status code or an error kind).
func example(examples *map[string]string, key, text string) {
	if _, ok := (*examples)[key]; !ok {
		if *examples == nil {
			*examples = map[string]string{}
		}
		(*examples)[key] = text
	}
}

// planned is how many requests the steps' pacers plan over their
// durations (their instantaneous rates integrated), 0 when one is
// unbounded (rate 0: as fast as the workers allow).
func (a *attackPhase) planned() float64 {
	const slices = 200
	var n float64
	for _, st := range a.steps {
		if st.du <= 0 {
			return 0
		}
		dt := st.du / slices
		for i := range slices {
			r := st.pacer.Rate(dt*time.Duration(i) + dt/2)
			if r <= 0 || math.IsInf(r, 0) || math.IsNaN(r) {
				return 0
			}
			n += r * dt.Seconds()
		}
	}
	return n
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// sleepCtx sleeps d, or less if ctx ends first; it reports whether it slept the whole d.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
