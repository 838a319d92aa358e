package probes

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"sync"
	"time"
)

// maxBody bounds what one fetch reads, so a runaway endpoint cannot exhaust memory.
const maxBody = 64 << 20

// ownConnLinger keeps a closed fetch connection's address excluded for as
// long as its TIME_WAIT socket may still show up on the SUT.
const ownConnLinger = 2 * time.Minute

// fetcher fetches the node's pprof and metrics endpoints, keeping one
// keep-alive connection, and remembers the local addresses it dialled so the
// socket probe does not count the prober's own connection as SUT traffic.
type fetcher struct {
	client *http.Client
	tr     *http.Transport

	mu  sync.Mutex
	own map[netip.AddrPort]time.Time // local addr -> closed at (zero while open)
}

func newFetcher(timeout time.Duration) *fetcher {
	f := &fetcher{own: map[netip.AddrPort]time.Time{}}
	d := &net.Dialer{Timeout: timeout}
	f.tr = &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := d.DialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			ap := addrPort(c.LocalAddr())
			f.mu.Lock()
			f.own[ap] = time.Time{}
			f.mu.Unlock()
			return &ownConn{Conn: c, f: f, ap: ap}, nil
		},
		MaxIdleConns:          2,
		MaxIdleConnsPerHost:   1,
		IdleConnTimeout:       30 * time.Second,
		ResponseHeaderTimeout: timeout,
		DisableCompression:    true,
	}
	f.client = &http.Client{Transport: f.tr, Timeout: timeout}
	return f
}

// ownConn forgets its address (after a linger) when closed.
type ownConn struct {
	net.Conn
	f    *fetcher
	ap   netip.AddrPort
	once sync.Once
}

func (c *ownConn) Close() error {
	c.once.Do(func() {
		c.f.mu.Lock()
		c.f.own[c.ap] = time.Now()
		c.f.mu.Unlock()
	})
	return c.Conn.Close()
}

// ownAddrs returns the local addresses of the prober's connections, open or
// recently closed, and prunes old ones.
func (f *fetcher) ownAddrs(now time.Time) map[netip.AddrPort]bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.own) == 0 {
		return nil
	}
	out := make(map[netip.AddrPort]bool, len(f.own))
	for ap, closed := range f.own {
		if !closed.IsZero() && now.Sub(closed) > ownConnLinger {
			delete(f.own, ap)
			continue
		}
		out[ap] = true
	}
	return out
}

// owns says whether ap is the local address of one of the prober's
// connections, open or recently closed (as ownAddrs, without a copy).
func (f *fetcher) owns(ap netip.AddrPort) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	closed, ok := f.own[ap]
	return ok && (closed.IsZero() || time.Since(closed) <= ownConnLinger)
}

// get fetches url, bounded by ctx and the client's timeout, and hands the
// body (capped at maxBody) to parse.
func (f *fetcher) get(ctx context.Context, url string, parse func(io.Reader) error) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return fmt.Errorf("bad url: %w", err)
	}
	resp, err := f.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		return fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	err = parse(io.LimitReader(resp.Body, maxBody))
	// Drain so the keep-alive connection can be reused instead of redialled.
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	return err
}

func (f *fetcher) close() { f.tr.CloseIdleConnections() }

func addrPort(a net.Addr) netip.AddrPort {
	if ta, ok := a.(*net.TCPAddr); ok {
		ap := ta.AddrPort()
		return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
	}
	return netip.AddrPort{}
}
