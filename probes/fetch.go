package probes

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"time"

	"github.com/soak-dev/soak/internal/ownconns"
)

// maxBody bounds what one fetch reads, so a runaway endpoint cannot exhaust memory.
const maxBody = 64 << 20

// fetcher fetches the node's pprof and metrics endpoints, keeping one
// keep-alive connection, and remembers the connections it dialled so the
// socket probe does not count the prober's own connection as SUT traffic.
type fetcher struct {
	client *http.Client
	tr     *http.Transport
	// own are the prober's connections to this node, open or closed
	// lately: both of their ends are soak's (the node's accepted end too).
	own *ownconns.Set
	// soaks is every connection soak dialled (OwnConns; nil: none given),
	// which the prober's join, so other nodes' samplers know their
	// closed ends.
	soaks *ownconns.Set
}

func newFetcher(timeout time.Duration, soaks *ownconns.Set) *fetcher {
	f := &fetcher{own: ownconns.New(ownconns.DefaultLinger), soaks: soaks}
	d := &net.Dialer{Timeout: timeout}
	f.tr = &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := d.DialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			return f.soaks.Track(f.own.Track(c)), nil
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

// owns says whether the socket local -> remote is either end of one of the
// prober's connections to the node, open or recently closed. A nil
// fetcher owns nothing.
func (f *fetcher) owns(local, remote netip.AddrPort) bool {
	return f != nil && (f.own.Has(local, remote) || f.own.Has(remote, local))
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
