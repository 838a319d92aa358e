package load

import (
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"net/netip"
	"sync"
	"syscall"
	"time"

	"github.com/soak-dev/soak/internal/ownconns"
	"github.com/soak-dev/soak/record"
)

// ledger is the client-side witness of one phase: every connection the
// phase opens is dialled through it and reported to the sink when it ends.
// Safe for concurrent use.
type ledger struct {
	phase   string
	sink    record.Sink
	stats   *Stats
	timeout time.Duration
	sources *sources
	own     *ownconns.Set // soak's own connections (Env.OwnConns); may be nil

	mu       sync.Mutex
	open     map[*ledgerConn]struct{}
	opened   int
	closedBy map[string]int
	sinkErr  error
	// stopped is set by closeAll: a dial that completes after it is
	// closed at once, else its request would wait out the timeout on a
	// SUT that does not answer and hold the phase's end.
	stopped bool
}

func newLedger(env Env, timeout time.Duration, src *sources) *ledger {
	return &ledger{phase: env.Phase, sink: env.Sink, stats: env.Stats, timeout: timeout, sources: src, own: env.OwnConns,
		open: map[*ledgerConn]struct{}{}, closedBy: map[string]int{}}
}

// DialContext dials addr and tracks the connection.
func (l *ledger) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	d := net.Dialer{Timeout: l.timeout, KeepAliveConfig: keepAliveConfig()}
	if ip := l.sources.next(); ip != nil {
		d.LocalAddr = &net.TCPAddr{IP: ip}
	}
	c, err := d.DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	return l.track(c), nil
}

func (l *ledger) track(c net.Conn) *ledgerConn {
	now := time.Now()
	lc := &ledgerConn{Conn: c, l: l, opened: now, last: now, lastRead: true}
	if l.own != nil {
		lc.local, lc.remote = ownconns.AddrPort(c.LocalAddr()), ownconns.AddrPort(c.RemoteAddr())
		l.own.Dialled(lc.local, lc.remote)
	}
	l.mu.Lock()
	l.open[lc] = struct{}{}
	l.opened++
	stopped := l.stopped
	l.mu.Unlock()
	if l.stats != nil {
		l.stats.OpenConns.Add(1)
	}
	if stopped {
		lc.Close()
	}
	return lc
}

// closeAll closes (as the client) every connection still open, so nothing
// leaks into the next phase.
func (l *ledger) closeAll() {
	l.mu.Lock()
	l.stopped = true
	conns := make([]*ledgerConn, 0, len(l.open))
	for c := range l.open {
		conns = append(conns, c)
	}
	l.mu.Unlock()
	for _, c := range conns {
		c.Close()
	}
}

func (l *ledger) counts() (opened int, closedBy map[string]int, err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	by := make(map[string]int, len(l.closedBy))
	for k, v := range l.closedBy {
		by[k] = v
	}
	return l.opened, by, l.sinkErr
}

func (l *ledger) finish(c *ledgerConn, rec record.Conn) {
	var err error
	if l.sink != nil {
		err = l.sink.Conn(rec)
	}
	l.mu.Lock()
	delete(l.open, c)
	l.closedBy[rec.ClosedBy]++
	if err != nil && l.sinkErr == nil {
		l.sinkErr = err
	}
	l.mu.Unlock()
	if l.stats != nil {
		l.stats.OpenConns.Add(-1)
	}
}

// ledgerConn records one connection's life. Reads and writes may run
// concurrently (net/http's readLoop and writeLoop), hence the mutex.
type ledgerConn struct {
	net.Conn
	l             *ledger
	local, remote netip.AddrPort // for ledger.own

	mu             sync.Mutex
	opened, last   time.Time
	maxIdle        time.Duration
	requests       int64
	in, out        int64
	lastRead       bool // a write after a read starts a new request
	serverClosedAt time.Time
	closed         bool
}

func (c *ledgerConn) touch(now time.Time) {
	if gap := now.Sub(c.last); gap > c.maxIdle {
		c.maxIdle = gap
	}
	c.last = now
}

// Read counts bytes in and notes a server close (EOF or RST).
func (c *ledgerConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.mu.Lock()
	now := time.Now()
	if n > 0 {
		c.touch(now)
		c.in += int64(n)
		c.lastRead = true
	}
	if err != nil && serverClosed(err) && c.serverClosedAt.IsZero() {
		c.serverClosedAt = now
	}
	c.mu.Unlock()
	return n, err
}

// Write counts bytes out and requests, and notes a server close (EPIPE or RST).
func (c *ledgerConn) Write(p []byte) (int, error) {
	// The request is counted before the write: its response may be read
	// (by another goroutine) before this write call returns.
	c.mu.Lock()
	if len(p) > 0 && c.lastRead {
		c.requests++
		c.lastRead = false
	}
	c.mu.Unlock()
	n, err := c.Conn.Write(p)
	c.mu.Lock()
	now := time.Now()
	if n > 0 {
		c.touch(now)
		c.out += int64(n)
	}
	if err != nil && serverClosed(err) && c.serverClosedAt.IsZero() {
		c.serverClosedAt = now
	}
	c.mu.Unlock()
	return n, err
}

// markServerClosed notes that the server closed the connection at t (seen
// by a poll rather than a read).
func (c *ledgerConn) markServerClosed(t time.Time) {
	c.mu.Lock()
	if c.serverClosedAt.IsZero() {
		c.serverClosedAt = t
	}
	c.mu.Unlock()
}

// Close closes the connection and reports it to the ledger once.
func (c *ledgerConn) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return c.Conn.Close()
	}
	c.closed = true
	now := time.Now()
	rec := record.Conn{
		Witness: record.WitnessClient, Source: c.l.phase, Side: "client", Phase: c.l.phase,
		Local: addrString(c.Conn.LocalAddr()), Remote: addrString(c.Conn.RemoteAddr()),
		Opened: c.opened, Closed: now, ClosedBy: record.ClosedByClient,
		Requests: c.requests, BytesIn: c.in, BytesOut: c.out,
	}
	if !c.serverClosedAt.IsZero() {
		rec.Closed, rec.ClosedBy = c.serverClosedAt, record.ClosedByServer
	}
	idle := max(rec.Closed.Sub(c.last), 0)
	rec.IdleBeforeCloseMs = idle.Milliseconds()
	rec.MaxIdleMs = max(c.maxIdle, idle).Milliseconds()
	c.mu.Unlock()
	err := c.Conn.Close()
	c.l.own.Closed(c.local, c.remote)
	c.l.finish(c, rec)
	return err
}

func addrString(a net.Addr) string {
	if a == nil {
		return ""
	}
	return a.String()
}

// serverClosed tells whether err means the peer closed the connection.
func serverClosed(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}

// keepAliveConfig spreads TCP keep-alive probes: connections opened in the
// same second (an idle hold of 10,000) otherwise probe in the same second
// every 30 s, and on loopback a burst above net.core.netdev_max_backlog is
// dropped, until the kernel gives up on some healthy connections and the
// client ledger blames the server. A random idle time of 30 to 45 s per
// connection spreads the bursts out within a few periods.
func keepAliveConfig() net.KeepAliveConfig {
	return net.KeepAliveConfig{Enable: true, Idle: 30*time.Second + rand.N(15*time.Second), Interval: 15 * time.Second, Count: 9}
}
