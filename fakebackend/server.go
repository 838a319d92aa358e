package fakebackend

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/soak-dev/soak/record"
	"github.com/soak-dev/soak/scenarios"
)

// protocol is one cloud's HTTP API: the part that differs between kinds.
type protocol interface {
	// handler serves the cloud's API.
	handler() http.Handler
	// createBuckets makes the configured buckets (containers) exist.
	createBuckets(names []string) error
	// writeError answers an injected error the way the cloud would: code is
	// the HTTP status, 500 or 503.
	writeError(w http.ResponseWriter, r *http.Request, status int)
}

// Slow clients (slowloris: thousands of connections each sending a byte a
// second) would otherwise hold the backend's connections forever. Neither
// bounds an idle keep-alive connection between requests: that is
// IdleTimeout's job, done by the reaper so the ledger names the closer.
const (
	// DefaultHeaderTimeout bounds the time to read a request's headers,
	// from its first byte (net/http's ReadHeaderTimeout).
	DefaultHeaderTimeout = 10 * time.Second
	// DefaultBodyIdleTimeout bounds the wait for the next bytes of a
	// request body.
	DefaultBodyIdleTimeout = 30 * time.Second
	// DefaultBodyMinRate is the least a request body must average, in
	// bytes per second, over each DefaultBodyRateWindow (Apache
	// mod_reqtimeout's MinRate): a byte a second resets any per-read
	// deadline, so only a floor on throughput cuts a trickle.
	DefaultBodyMinRate = 500
	// DefaultBodyRateWindow is the window DefaultBodyMinRate is judged
	// over, from the body's first read: 15,000 bytes per 30 s.
	DefaultBodyRateWindow = 30 * time.Second
)

// reapEvery is how often idle connections are checked against the idle
// timeouts; it bounds how late past its timeout a connection is closed.
const reapEvery = 50 * time.Millisecond

// server is the wrapper every kind shares: listener, ledger, faults.
type server struct {
	name string
	cfg  *scenarios.Backend
	// headerTimeout, bodyIdleTimeout, bodyMinRate (bytes/s) and
	// bodyRateWindow are the Default* values; tests shorten them before Start.
	headerTimeout, bodyIdleTimeout time.Duration
	bodyMinRate                    int64
	bodyRateWindow                 time.Duration
	proto                          protocol
	l                              *ledger
	f                              *faultState

	mu       sync.Mutex
	srv      *http.Server
	ln       net.Listener
	url      string
	stop     chan struct{}
	done     chan struct{}
	closed   bool
	serveErr chan error
	// serving counts net/http's connection goroutines (StateNew until
	// StateClosed or StateHijacked), so Close returns only after they end.
	serving sync.WaitGroup
}

var _ Backend = (*server)(nil)

func newServer(name string, cfg *scenarios.Backend, p protocol, sink record.Sink) *server {
	s := &server{name: name, cfg: cfg, proto: p, l: newLedger(name, sink, time.Now),
		headerTimeout: DefaultHeaderTimeout, bodyIdleTimeout: DefaultBodyIdleTimeout,
		bodyMinRate: DefaultBodyMinRate, bodyRateWindow: DefaultBodyRateWindow}
	s.f = newFaultState(time.Now)
	s.f.set(cfg.Faults)
	return s
}

func (s *server) Kind() string { return s.cfg.Kind }

func (s *server) URL() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.url
}

func (s *server) Live() Counts { return s.l.counts() }

func (s *server) SetFaults(f *scenarios.Faults) { s.f.set(f) }

func (s *server) SetPhase(name string) { s.l.phase.Store(&name) }

// Handler is the backend's full request path (faults, counting, the
// protocol), without a listener: for tests and the fuzz target.
func (s *server) Handler() http.Handler { return s.wrap(s.proto.handler()) }

func (s *server) Start(ctx context.Context, addr string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.srv != nil {
		return fmt.Errorf("fakebackend %s: already started", s.name)
	}
	if addr == "" {
		addr = s.cfg.Listen
	}
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	if err := s.proto.createBuckets(s.cfg.Buckets); err != nil {
		return fmt.Errorf("fakebackend %s: create buckets: %w", s.name, err)
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("fakebackend %s: listen: %w", s.name, err)
	}
	s.ln = ln
	s.url = "http://" + ln.Addr().String()
	s.srv = &http.Server{
		Handler: s.Handler(),
		ConnState: func(c net.Conn, st http.ConnState) {
			switch st {
			case http.StateNew:
				s.serving.Add(1)
			case http.StateClosed, http.StateHijacked:
				defer s.serving.Done()
			}
			if tc, ok := c.(*trackedConn); ok {
				tc.setState(st)
			}
		},
		ConnContext: func(ctx context.Context, c net.Conn) context.Context {
			return context.WithValue(ctx, connKey{}, c)
		},
		// No IdleTimeout/ReadTimeout: net/http would close idle connections
		// without telling us; the reaper does it and names the closer. A
		// header timeout is seen by trackedConn.Read (closed_by: timeout).
		ReadHeaderTimeout: s.headerTimeout,
		ErrorLog:          log.New(io.Discard, "", 0),
	}
	s.stop, s.done = make(chan struct{}), make(chan struct{})
	s.serveErr = make(chan error, 1)
	tl := &trackingListener{Listener: ln, l: s.l, refuse: s.f.refusing}
	go func() { s.serveErr <- s.srv.Serve(tl) }()
	go s.reapLoop()
	return nil
}

func (s *server) reapLoop() {
	defer close(s.done)
	t := time.NewTicker(reapEvery)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			s.l.reap(s.cfg.IdleTimeout.D(), s.f.closeIdleAfter())
		}
	}
}

func (s *server) Close(ctx context.Context) error {
	s.mu.Lock()
	if s.closed || s.srv == nil {
		s.closed = true
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.mu.Unlock()

	close(s.stop)
	<-s.done
	s.f.shutdown() // wakes stalled and slowed responses
	// Stop accepting, then close every connection ourselves so each gets
	// its "open at end" line; Shutdown would wait for idle ones to close.
	err := s.ln.Close()
	s.l.closeAll()
	_ = s.srv.Close()
	if serr := <-s.serveErr; serr != nil && !errors.Is(serr, http.ErrServerClosed) {
		err = errors.Join(err, serr)
	}
	if errors.Is(err, net.ErrClosed) {
		err = nil
	}
	// net/http may still be finishing a connection (it lingers up to 500ms
	// after answering a bad request); wait, within ctx, so nothing leaks.
	waited := make(chan struct{})
	go func() { s.serving.Wait(); close(waited) }()
	select {
	case <-waited:
	case <-ctx.Done():
		err = errors.Join(err, fmt.Errorf("fakebackend %s: connections still closing: %w", s.name, ctx.Err()))
	}
	if n := s.l.sinkErrors.Load(); n > 0 {
		err = errors.Join(err, fmt.Errorf("fakebackend %s: %d ledger lines could not be written", s.name, n))
	}
	return err
}

// wrap puts the shared middleware around a protocol handler: the soak
// endpoint, request counting and fault injection.
func (s *server) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tc := connFrom(r.Context())
		if tc != nil {
			tc.served.Store(true)
		}
		if r.URL.Path == ConnsPath {
			// Not counted as a request: the SUT's request counts stay exact.
			s.serveConns(w)
			return
		}
		if tc != nil {
			tc.requests.Add(1)
			tc.inRequest.Store(true)
			if r.Body != nil && r.Body != http.NoBody {
				// A copy: net/http looks at the original body after the
				// handler to decide whether the connection can be reused.
				r2 := new(http.Request)
				*r2 = *r
				rc := http.NewResponseController(w)
				r2.Body = &idleBody{ReadCloser: r.Body, tc: tc, rc: rc, timeout: s.bodyIdleTimeout,
					minRate: s.bodyMinRate, window: s.bodyRateWindow}
				r = r2
				// After the handler, net/http reads what it left of the
				// body, to reuse the connection: bounded the same way (the
				// deadline is cleared before the connection idles).
				defer func() { tc.setBodyDeadline(rc, time.Now().Add(s.bodyIdleTimeout)) }()
			}
		}
		s.l.requests.Add(1)
		sw := &statusWriter{ResponseWriter: w}
		defer func() {
			if sw.status >= 400 {
				s.l.errorsOut.Add(1)
			}
		}()
		s.f.serve(sw, r, tc, s.proto, h)
	})
}

func (s *server) serveConns(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(struct {
		Backend string     `json:"backend"`
		Kind    string     `json:"kind"`
		Counts  Counts     `json:"counts"`
		Open    []ConnInfo `json:"open"`
	}{s.name, s.cfg.Kind, s.l.counts(), s.l.snapshot()})
}

// statusWriter remembers the status written.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(p)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// idleBody cuts a request body that stalls (each read may wait at most
// timeout for its bytes) or trickles: in each window from its first read,
// it must bring minRate*window bytes, or the connection is closed at the
// window's end. A cut is recorded as closed_by: timeout, with the bytes the
// client sent.
type idleBody struct {
	io.ReadCloser
	tc      *trackedConn
	rc      *http.ResponseController
	timeout time.Duration
	minRate int64
	window  time.Duration

	winEnd   time.Time // end of the current window; zero before the first read
	winBytes int64     // bytes read in the current window
}

func (b *idleBody) Read(p []byte) (int, error) {
	now := time.Now()
	need := int64(float64(b.minRate) * b.window.Seconds())
	if b.window > 0 && b.minRate > 0 {
		switch {
		case b.winEnd.IsZero():
			b.winEnd = now.Add(b.window)
		case !now.Before(b.winEnd) && b.winBytes < need:
			return 0, b.cut()
		case !now.Before(b.winEnd):
			b.winEnd, b.winBytes = now.Add(b.window), 0
		}
	}
	deadline := now.Add(b.timeout)
	// Until the window has its bytes, the read may wait only to its end.
	if !b.winEnd.IsZero() && b.winBytes < need && b.winEnd.Before(deadline) {
		deadline = b.winEnd
	}
	b.tc.setBodyDeadline(b.rc, deadline)
	n, err := b.ReadCloser.Read(p)
	b.winBytes += int64(n)
	if err != nil && isTimeout(err) {
		b.tc.timedOut()
	}
	return n, err
}

// cut closes a connection whose body came too slowly: no drain, no reply
// (a cloud answers a too-slow upload with a timeout and a close, too).
func (b *idleBody) cut() error {
	b.tc.closeAs(record.ClosedByTimeout, false)
	return fmt.Errorf("request body under %d bytes/s over %s: %w", b.minRate, b.window, os.ErrDeadlineExceeded)
}
