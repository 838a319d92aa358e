package testsut

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/valyala/fasthttp"
)

// fastClient is the fasthttp client of a layer: one HostClient per host,
// which has no goroutine per idle connection, only one connsCleaner.
type fastClient struct {
	cfg   clientConfig
	mu    sync.Mutex
	hosts map[string]*fasthttp.HostClient
}

func newFastClient(cfg clientConfig) *fastClient {
	return &fastClient{cfg: cfg, hosts: map[string]*fasthttp.HostClient{}}
}

// hostClient returns the HostClient for addr, creating it once.
func (c *fastClient) hostClient(addr string) *fasthttp.HostClient {
	c.mu.Lock()
	defer c.mu.Unlock()
	hc, ok := c.hosts[addr]
	if !ok {
		hc = &fasthttp.HostClient{
			Addr:                addr,
			MaxIdleConnDuration: c.cfg.idleConnTimeout,
			// fasthttp has no idle-only bound: MaxConns bounds all of a
			// host's connections, idle or busy.
			MaxConns:           c.cfg.maxIdlePerHost,
			ReadTimeout:        30 * time.Second,
			WriteTimeout:       30 * time.Second,
			MaxConnWaitTimeout: 5 * time.Second,
		}
		if hc.MaxIdleConnDuration == 0 {
			// 0 would mean fasthttp's 10 s default; "never" is the closest
			// to net/http's IdleConnTimeout 0.
			hc.MaxIdleConnDuration = 100 * 365 * 24 * time.Hour
		}
		c.hosts[addr] = hc
	}
	return hc
}

func (c *fastClient) do(ctx context.Context, method, rawURL string, header map[string]string, body []byte) (response, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return response{}, fmt.Errorf("parse url: %w", err)
	}
	req := fasthttp.AcquireRequest()
	resp := fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.SetRequestURI(rawURL)
	req.Header.SetMethod(method)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	if body != nil || method == http.MethodPut {
		req.SetBodyRaw(body)
	}
	if c.cfg.sign != nil {
		// Sign a net/http twin of the request and copy the signature over.
		hr, err := http.NewRequestWithContext(ctx, method, rawURL, nil)
		if err != nil {
			return response{}, fmt.Errorf("build request to sign: %w", err)
		}
		hr.ContentLength = int64(len(body))
		for k, v := range header {
			hr.Header.Set(k, v)
		}
		if err := c.cfg.sign(hr, body); err != nil {
			return response{}, fmt.Errorf("sign request: %w", err)
		}
		for k := range hr.Header {
			req.Header.Set(k, hr.Header.Get(k))
		}
	}
	if method == http.MethodHead {
		resp.SkipBody = true
	}
	deadline := time.Now().Add(30 * time.Second)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	if err := c.hostClient(u.Host).DoDeadline(req, resp, deadline); err != nil {
		return response{}, err
	}
	out := response{status: resp.StatusCode(), header: map[string]string{}, body: append([]byte(nil), resp.Body()...)}
	for _, h := range relayed {
		if v := resp.Header.Peek(h); len(v) > 0 {
			out.header[h] = string(v)
		}
	}
	if method == http.MethodHead {
		out.header["Content-Length"] = strconv.Itoa(resp.Header.ContentLength())
	}
	return out, nil
}

func (c *fastClient) closeIdle() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, hc := range c.hosts {
		hc.CloseIdleConnections()
	}
}
