package sut

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/soak-dev/soak/internal/ownconns"
)

// ReadyOption configures WaitReady.
type ReadyOption func(*readyOpts)

type readyOpts struct {
	own *ownconns.Set
}

// ReadyOwnConns records the readiness probe's connections in set, soak's
// own dialled ends: a probe's end that soak closes first lingers in
// TIME_WAIT, which a node's layer naming the probed port must not count.
func ReadyOwnConns(set *ownconns.Set) ReadyOption { return func(o *readyOpts) { o.own = set } }

// WaitReady waits until ready answers: an http(s):// URL with any status
// below 500, or tcp://HOST:PORT accepting. It gives up when timeout passes,
// ctx ends or the process exits, with an error that carries the tail of the
// node's log.
func WaitReady(ctx context.Context, p *Process, ready string, timeout time.Duration, opts ...ReadyOption) error {
	var o readyOpts
	for _, opt := range opts {
		opt(&o)
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var d net.Dialer
	dial := func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := d.DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return o.own.Track(c), nil
	}
	client := &http.Client{Timeout: time.Second, Transport: &http.Transport{DisableKeepAlives: true, DialContext: dial}}
	var last error
	for delay := 20 * time.Millisecond; ; delay = min(delay*2, 250*time.Millisecond) {
		if last = probeReady(ctx, client, dial, ready); last == nil {
			return nil
		}
		select {
		case <-p.Exited():
			return fmt.Errorf("node %s %s before it was ready (%s)%s", p.Name, p.ExitState(), ready, p.tailNote())
		case <-ctx.Done():
			if ctx.Err() == context.DeadlineExceeded {
				return fmt.Errorf("node %s not ready after %s: %s: %v%s", p.Name, timeout, ready, last, p.tailNote())
			}
			return ctx.Err()
		case <-time.After(delay):
		}
	}
}

func probeReady(ctx context.Context, client *http.Client,
	dial func(ctx context.Context, network, addr string) (net.Conn, error), ready string) error {
	if addr, ok := strings.CutPrefix(ready, "tcp://"); ok {
		c, err := dial(ctx, "tcp", addr)
		if err != nil {
			return err
		}
		return c.Close()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, ready, nil)
	if err != nil {
		return err
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	if resp.StatusCode >= 500 {
		return fmt.Errorf("status %s", resp.Status)
	}
	return nil
}

func (p *Process) tailNote() string {
	if tail := p.LogTail(20); tail != "" {
		return fmt.Sprintf("\n--- last lines of %s ---\n%s", p.LogPath, tail)
	}
	return ""
}

// LogTail returns the last n lines of the node's output, sanitized for a
// terminal: read through the log's own file (never its path again: a node
// may have put a symlink there meanwhile), or kept from it once closed.
func (p *Process) LogTail(n int) string {
	if p.logs != nil {
		return p.logs.lastLines(n)
	}
	return Tail(p.LogPath, n)
}

// Tail returns the last n lines of the file at path (reading at most its
// last 64 KiB), sanitized for a terminal (see Sanitize).
func Tail(path string, n int) string {
	if path == "" {
		return ""
	}
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	const max = 64 << 10
	if st, err := f.Stat(); err == nil && st.Size() > max {
		f.Seek(st.Size()-max, io.SeekStart)
	}
	b, _ := io.ReadAll(f)
	return lastLines(b, n)
}
