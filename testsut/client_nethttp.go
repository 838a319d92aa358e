package testsut

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"
)

// netClient is the net/http client of a layer: one shared Transport, unless
// a leak says otherwise.
type netClient struct {
	cfg clientConfig
	tr  *http.Transport
	// perRequest is the backend-transport-per-request leak: a fresh
	// Transport for every request, never closed.
	perRequest bool
}

func newNetTransport(idle time.Duration, maxIdlePerHost int) *http.Transport {
	return &http.Transport{
		DialContext:           (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		IdleConnTimeout:       idle,
		MaxIdleConns:          0, // no global bound: the per-host bound is the one under test
		MaxIdleConnsPerHost:   maxIdlePerHost,
		ResponseHeaderTimeout: 30 * time.Second,
		DisableCompression:    true,
	}
}

func newNetClient(cfg clientConfig) *netClient {
	return &netClient{cfg: cfg, tr: newNetTransport(cfg.idleConnTimeout, cfg.maxIdlePerHost)}
}

// transport is the Transport for one request.
func (c *netClient) transport() *http.Transport {
	if c.perRequest {
		// The bug: a zero-value-like Transport per request. Its pooled
		// connection is idle forever and keeps its readLoop/writeLoop.
		return &http.Transport{}
	}
	return c.tr
}

// send sends one request and returns the raw response, body unread.
func (c *netClient) send(ctx context.Context, method, url string, header map[string]string, body []byte) (*http.Response, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		return nil, fmt.Errorf("build request: %w", err)
	}
	req.ContentLength = int64(len(body))
	for k, v := range header {
		req.Header.Set(k, v)
	}
	if c.cfg.sign != nil {
		if err := c.cfg.sign(req, body); err != nil {
			return nil, fmt.Errorf("sign request: %w", err)
		}
	}
	return c.transport().RoundTrip(req)
}

func (c *netClient) do(ctx context.Context, method, url string, header map[string]string, body []byte) (response, error) {
	resp, err := c.send(ctx, method, url, header, body)
	if err != nil {
		return response{}, err
	}
	defer resp.Body.Close()
	return readNetResponse(resp)
}

// readNetResponse reads the whole body and the relayed headers.
func readNetResponse(resp *http.Response) (response, error) {
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return response{}, fmt.Errorf("read response body: %w", err)
	}
	out := response{status: resp.StatusCode, header: map[string]string{}, body: b}
	for _, h := range relayed {
		if v := resp.Header.Get(h); v != "" {
			out.header[h] = v
		}
	}
	if resp.Request != nil && resp.Request.Method == http.MethodHead {
		out.header["Content-Length"] = resp.Header.Get("Content-Length")
	}
	return out, nil
}

func (c *netClient) closeIdle() { c.tr.CloseIdleConnections() }
