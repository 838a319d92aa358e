package fakebackend

import (
	"context"
	"errors"
	"net"
	"net/http"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/soak-dev/soak/record"
)

// Connection states as the ledger names them (LastState of a record.Conn).
const (
	stateNew    = "new"
	stateActive = "active"
	stateIdle   = "idle"
	stateClosed = "closed"
)

// ledger witnesses every connection accepted by one backend: it wraps the
// listener (bytes, who closed), follows http.Server.ConnState (active/idle
// transitions) and writes one record.Conn per connection to the sink when
// the connection ends. Safe for concurrent use.
type ledger struct {
	source string
	sink   record.Sink
	now    func() time.Time

	mu    sync.Mutex
	conns map[*trackedConn]struct{}

	phase atomic.Pointer[string]

	accepted, closed, requests, malformed, errorsOut, sinkErrors atomic.Int64
}

func newLedger(source string, sink record.Sink, now func() time.Time) *ledger {
	return &ledger{source: source, sink: sink, now: now, conns: map[*trackedConn]struct{}{}}
}

// trackedConn is one accepted connection and its ledger entry.
type trackedConn struct {
	net.Conn
	l *ledger

	bytesIn, bytesOut, requests atomic.Int64
	// served is set once any request (soak's own endpoint included) reached
	// the handler: a connection without one that sent bytes was malformed.
	served atomic.Bool
	// readErr is set when a read saw EOF or a reset that the backend did
	// not cause itself: the client hung up.
	readErr atomic.Bool
	// inRequest is set while a request is in the handler (from its start to
	// the next idle state): a read timeout outside it is the header timeout.
	inRequest atomic.Bool
	// bodyDeadline is the read deadline (unix ns) set on a request body, 0
	// when none: a close past it is the body timeout's.
	bodyDeadline atomic.Int64
	// reason, when set before Close, names who closed (timeout, fault, open).
	reason atomic.Pointer[string]

	mu         sync.Mutex
	opened     time.Time
	state      string
	idleSince  time.Time // when the current idle (or new) gap began
	maxIdle    time.Duration
	closedOnce sync.Once
}

func (l *ledger) track(c net.Conn) *trackedConn {
	now := l.now()
	tc := &trackedConn{Conn: c, l: l, opened: now, state: stateNew, idleSince: now}
	l.accepted.Add(1)
	l.mu.Lock()
	l.conns[tc] = struct{}{}
	l.mu.Unlock()
	return tc
}

func (c *trackedConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.bytesIn.Add(int64(n))
	if err != nil && c.reason.Load() == nil && !isTimeout(err) && !errors.Is(err, net.ErrClosed) {
		c.readErr.Store(true)
	}
	// Inside a request, net/http times reads out itself to end its
	// background read; outside one, only the header timeout does.
	if err != nil && isTimeout(err) && !c.inRequest.Load() {
		c.timedOut()
	}
	return n, err
}

// setBodyDeadline sets the read deadline of a request body and remembers it.
func (c *trackedConn) setBodyDeadline(rc *http.ResponseController, t time.Time) {
	c.bodyDeadline.Store(t.UnixNano())
	_ = rc.SetReadDeadline(t)
}

// timedOut records that a read timeout (header or body) ends the connection.
func (c *trackedConn) timedOut() {
	r := record.ClosedByTimeout
	c.reason.CompareAndSwap(nil, &r)
}

func (c *trackedConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	c.bytesOut.Add(int64(n))
	return n, err
}

// Close ends the connection and writes its ledger line, once.
func (c *trackedConn) Close() error {
	err := c.Conn.Close()
	c.closedOnce.Do(c.finish)
	return err
}

// closeAs closes the connection naming the closer; reset sends an RST
// instead of a FIN (SetLinger(0)).
func (c *trackedConn) closeAs(reason string, reset bool) {
	r := reason
	c.reason.CompareAndSwap(nil, &r)
	if reset {
		if tcp, ok := c.Conn.(*net.TCPConn); ok {
			_ = tcp.SetLinger(0)
		}
	}
	_ = c.Close()
}

// setState follows http.Server.ConnState.
func (c *trackedConn) setState(s http.ConnState) {
	now := c.l.now()
	c.mu.Lock()
	defer c.mu.Unlock()
	switch s {
	case http.StateActive:
		if c.state == stateIdle || c.state == stateNew {
			c.endIdle(now)
		}
		c.state = stateActive
	case http.StateIdle:
		c.inRequest.Store(false)
		c.bodyDeadline.Store(0) // net/http clears the deadline now
		c.state = stateIdle
		c.idleSince = now
	case http.StateHijacked, http.StateClosed:
		// The line is written by Close, which every path calls.
	}
}

func (c *trackedConn) endIdle(now time.Time) {
	if gap := now.Sub(c.idleSince); gap > c.maxIdle {
		c.maxIdle = gap
	}
}

// idleFor reports how long the connection has been idle (or new and
// silent), and false when it is active or closed.
func (c *trackedConn) idleFor(now time.Time) (time.Duration, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.state != stateIdle && c.state != stateNew {
		return 0, false
	}
	return now.Sub(c.idleSince), true
}

func (c *trackedConn) finish() {
	now := c.l.now()
	c.mu.Lock()
	last := c.state
	var idleBefore time.Duration
	if last == stateIdle || last == stateNew {
		idleBefore = now.Sub(c.idleSince)
		c.endIdle(now)
	}
	c.state = stateClosed
	maxIdle := c.maxIdle
	c.mu.Unlock()

	closedBy := record.ClosedByServer
	switch {
	case c.reason.Load() != nil:
		closedBy = *c.reason.Load()
	case c.bodyDeadline.Load() != 0 && time.Now().UnixNano() >= c.bodyDeadline.Load():
		closedBy = record.ClosedByTimeout
	case c.readErr.Load():
		closedBy = record.ClosedByClient
	}
	line := record.Conn{
		Witness:           record.WitnessBackend,
		Source:            c.l.source,
		Side:              "server",
		Local:             addrString(c.LocalAddr()),
		Remote:            addrString(c.RemoteAddr()),
		Opened:            c.opened,
		Requests:          c.requests.Load(),
		BytesIn:           c.bytesIn.Load(),
		BytesOut:          c.bytesOut.Load(),
		MaxIdleMs:         maxIdle.Milliseconds(),
		IdleBeforeCloseMs: idleBefore.Milliseconds(),
		ClosedBy:          closedBy,
		LastState:         last,
	}
	if closedBy != record.OpenAtEnd {
		line.Closed = now
	}
	if p := c.l.phase.Load(); p != nil {
		line.Phase = *p
	}
	if !c.served.Load() && line.BytesIn > 0 && closedBy != record.ClosedByTimeout {
		// Bytes arrived but no request reached the handler: garbage, or a
		// request net/http rejected with a 400 itself.
		c.l.malformed.Add(1)
	}
	c.l.mu.Lock()
	delete(c.l.conns, c)
	c.l.mu.Unlock()
	c.l.closed.Add(1)
	if c.l.sink != nil {
		if err := c.l.sink.Conn(line); err != nil {
			c.l.sinkErrors.Add(1)
		}
	}
}

// counts returns the live counts.
func (l *ledger) counts() Counts {
	l.mu.Lock()
	defer l.mu.Unlock()
	c := Counts{
		Open:      len(l.conns),
		Accepted:  l.accepted.Load(),
		Closed:    l.closed.Load(),
		Requests:  l.requests.Load(),
		Malformed: l.malformed.Load(),
		Errors:    l.errorsOut.Load(),
	}
	for tc := range l.conns {
		tc.mu.Lock()
		switch tc.state {
		case stateActive:
			c.Active++
		case stateIdle, stateNew:
			c.Idle++
		}
		tc.mu.Unlock()
	}
	return c
}

// ConnInfo is one open connection as GET /_soak/conns shows it.
type ConnInfo struct {
	Remote   string    `json:"remote"`
	Opened   time.Time `json:"opened"`
	State    string    `json:"state"`
	IdleMs   int64     `json:"idle_ms"`
	Requests int64     `json:"requests"`
	BytesIn  int64     `json:"bytes_in"`
	BytesOut int64     `json:"bytes_out"`
}

// snapshot lists the open connections, oldest first.
func (l *ledger) snapshot() []ConnInfo {
	now := l.now()
	l.mu.Lock()
	list := make([]*trackedConn, 0, len(l.conns))
	for tc := range l.conns {
		list = append(list, tc)
	}
	l.mu.Unlock()
	out := make([]ConnInfo, 0, len(list))
	for _, tc := range list {
		tc.mu.Lock()
		ci := ConnInfo{Remote: addrString(tc.RemoteAddr()), Opened: tc.opened, State: tc.state,
			Requests: tc.requests.Load(), BytesIn: tc.bytesIn.Load(), BytesOut: tc.bytesOut.Load()}
		if tc.state == stateIdle || tc.state == stateNew {
			ci.IdleMs = now.Sub(tc.idleSince).Milliseconds()
		}
		tc.mu.Unlock()
		out = append(out, ci)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Opened.Before(out[j].Opened) })
	return out
}

// reap closes connections idle longer than the backend's idle timeout
// (closer: timeout) or the CloseIdleAfter fault (closer: fault); 0 is off.
func (l *ledger) reap(idleTimeout, closeIdleAfter time.Duration) {
	if idleTimeout <= 0 && closeIdleAfter <= 0 {
		return
	}
	now := l.now()
	l.mu.Lock()
	list := make([]*trackedConn, 0, len(l.conns))
	for tc := range l.conns {
		list = append(list, tc)
	}
	l.mu.Unlock()
	for _, tc := range list {
		idle, ok := tc.idleFor(now)
		if !ok {
			continue
		}
		switch {
		case closeIdleAfter > 0 && idle >= closeIdleAfter && (idleTimeout <= 0 || closeIdleAfter <= idleTimeout):
			tc.closeAs(record.ClosedByFault, false)
		case idleTimeout > 0 && idle >= idleTimeout:
			tc.closeAs(record.ClosedByTimeout, false)
		}
	}
}

// closeAll closes every open connection as still open at the end.
func (l *ledger) closeAll() {
	l.mu.Lock()
	list := make([]*trackedConn, 0, len(l.conns))
	for tc := range l.conns {
		list = append(list, tc)
	}
	l.mu.Unlock()
	for _, tc := range list {
		tc.closeAs(record.OpenAtEnd, false)
	}
}

// trackingListener hands out trackedConns and refuses connections while a
// RefuseFor fault is in force.
type trackingListener struct {
	net.Listener
	l      *ledger
	refuse func() bool
}

func (tl *trackingListener) Accept() (net.Conn, error) {
	for {
		c, err := tl.Listener.Accept()
		if err != nil {
			return nil, err
		}
		tc := tl.l.track(c)
		if tl.refuse != nil && tl.refuse() {
			tc.closeAs(record.ClosedByFault, true)
			continue
		}
		return tc, nil
	}
}

type connKey struct{}

// connFrom returns the tracked connection a request arrived on.
func connFrom(ctx context.Context) *trackedConn {
	tc, _ := ctx.Value(connKey{}).(*trackedConn)
	return tc
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

func addrString(a net.Addr) string {
	if a == nil {
		return ""
	}
	return a.String()
}
