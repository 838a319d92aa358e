package fakebackend

import (
	"errors"
	"math/rand/v2"
	"net/http"
	"sync"
	"time"

	"github.com/soak-dev/soak/record"
	"github.com/soak-dev/soak/scenarios"
)

// DefaultFaultSeed seeds the fault sequence when the scenario gives none.
const DefaultFaultSeed = 1

// errInjected is what a faulted response writer returns once the fault has
// taken the connection, so the protocol handler stops writing.
var errInjected = errors.New("fakebackend: injected fault")

// faultState holds the faults in force and the random sequence that
// decides them. Each request draws the same number of values in the same
// order, so one client's sequence of faults repeats with the seed.
type faultState struct {
	now func() time.Time

	mu          sync.Mutex
	f           *scenarios.Faults
	rng         *rand.Rand
	refuseUntil time.Time

	stopOnce sync.Once
	stopped  chan struct{}
}

func newFaultState(now func() time.Time) *faultState {
	return &faultState{now: now, stopped: make(chan struct{})}
}

// set replaces the faults (nil: none), reseeds the sequence and starts a
// RefuseFor window from now.
func (fs *faultState) set(f *scenarios.Faults) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	fs.refuseUntil = time.Time{}
	if f == nil {
		fs.f, fs.rng = nil, nil
		return
	}
	cp := *f
	fs.f = &cp
	seed := cp.Seed
	if seed == 0 {
		seed = DefaultFaultSeed
	}
	fs.rng = rand.New(rand.NewPCG(uint64(seed), 0x736f616b))
	if cp.RefuseFor > 0 {
		fs.refuseUntil = fs.now().Add(cp.RefuseFor.D())
	}
}

func (fs *faultState) refusing() bool {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	return !fs.refuseUntil.IsZero() && fs.now().Before(fs.refuseUntil)
}

func (fs *faultState) closeIdleAfter() time.Duration {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if fs.f == nil {
		return 0
	}
	return fs.f.CloseIdleAfter.D()
}

// shutdown wakes every stalled or slowed response.
func (fs *faultState) shutdown() { fs.stopOnce.Do(func() { close(fs.stopped) }) }

// plan is what happens to one request.
type plan struct {
	latency   time.Duration
	errStatus int // 0: no injected error
	reset     bool
	stall     bool
	bytesPerS int64
	faultsOn  bool
}

func (fs *faultState) draw() plan {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	f := fs.f
	if f == nil {
		return plan{}
	}
	// Always draw four values so the sequence does not depend on which
	// faults are switched on.
	jitter, e, rs, st := fs.rng.Float64(), fs.rng.Float64(), fs.rng.Float64(), fs.rng.Float64()
	p := plan{faultsOn: true, latency: f.Latency.D() + time.Duration(jitter*float64(f.LatencyJitter.D())), bytesPerS: int64(f.SlowBody)}
	switch {
	case e < f.ErrorRate:
		p.errStatus = f.ErrorCode
		if p.errStatus == 0 {
			p.errStatus = http.StatusServiceUnavailable
		}
	case rs < f.ResetRate:
		p.reset = true
	case st < f.StallRate:
		p.stall = true
	}
	return p
}

// serve runs one request through the faults in force and the handler.
func (fs *faultState) serve(w http.ResponseWriter, r *http.Request, tc *trackedConn, proto protocol, h http.Handler) {
	p := fs.draw()
	if !p.faultsOn {
		h.ServeHTTP(w, r)
		return
	}
	if p.latency > 0 && !fs.sleep(r, p.latency) {
		return
	}
	if p.errStatus != 0 {
		proto.writeError(w, r, p.errStatus)
		return
	}
	if !p.reset && !p.stall && p.bytesPerS <= 0 {
		h.ServeHTTP(w, r)
		return
	}
	fw := &faultWriter{ResponseWriter: w, fs: fs, r: r, tc: tc, p: p}
	h.ServeHTTP(fw, r)
	if !fw.fired && (p.reset || p.stall) {
		// The response had no body: the fault strikes after the headers.
		fw.fire(nil)
	}
}

// sleep waits d, or less if the client leaves or the backend closes; it
// reports whether the request should go on.
func (fs *faultState) sleep(r *http.Request, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-r.Context().Done():
		return false
	case <-fs.stopped:
		return false
	}
}

// faultWriter applies reset, stall and slow-body faults to a response.
type faultWriter struct {
	http.ResponseWriter
	fs    *faultState
	r     *http.Request
	tc    *trackedConn
	p     plan
	fired bool
}

func (fw *faultWriter) Unwrap() http.ResponseWriter { return fw.ResponseWriter }

func (fw *faultWriter) Write(b []byte) (int, error) {
	if fw.fired {
		return 0, errInjected
	}
	if fw.p.reset || fw.p.stall {
		return fw.fire(b)
	}
	return fw.slowWrite(b)
}

// fire sends the headers and half of b, then resets the connection or
// stalls until the client gives up or the backend closes.
func (fw *faultWriter) fire(b []byte) (int, error) {
	fw.fired = true
	n, _ := fw.slowWrite(b[:len(b)/2])
	_ = http.NewResponseController(fw.ResponseWriter).Flush()
	if fw.p.reset {
		if fw.tc != nil {
			fw.tc.closeAs(record.ClosedByFault, true)
		}
		return n, errInjected
	}
	select {
	case <-fw.r.Context().Done():
	case <-fw.fs.stopped:
	}
	return n, errInjected
}

// slowWrite writes b, no faster than p.bytesPerS when set.
func (fw *faultWriter) slowWrite(b []byte) (int, error) {
	rate := fw.p.bytesPerS
	if rate <= 0 {
		return fw.ResponseWriter.Write(b)
	}
	chunk := max(rate/20, 1) // 20 writes a second keeps the rate smooth
	written := 0
	for len(b) > 0 {
		c := b[:min(int64(len(b)), chunk)]
		// Wait before each write, not after: the client then never sees
		// more than rate bytes in any second, the last chunk included.
		if !fw.fs.sleep(fw.r, time.Duration(float64(len(c))/float64(rate)*float64(time.Second))) {
			return written, errInjected
		}
		n, err := fw.ResponseWriter.Write(c)
		written += n
		if err != nil {
			return written, err
		}
		_ = http.NewResponseController(fw.ResponseWriter).Flush()
		b = b[len(c):]
	}
	return written, nil
}
