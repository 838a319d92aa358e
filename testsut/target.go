package testsut

import (
	"context"
	"net/http"
	"strings"
	"sync"
)

// target serves object requests from the S3 backend, path-style.
type target struct {
	backend string
	bucket  string
	client  client
	// net is the net/http client, set when the backend leaks need it.
	net *netClient
	// bodyLeak is the backend-body-not-closed leak.
	bodyLeak bool
	cache    *sync.Map // bucket/key -> response; nil when caching is off
	logf     func(string, ...any)
}

func newTarget(cfg Config) *target {
	cc := clientConfig{
		engine:          cfg.clientEngine(),
		idleConnTimeout: cfg.BackendIdleConnTimeout,
		maxIdlePerHost:  cfg.BackendMaxIdlePerHost,
	}
	if cfg.AccessKey != "" {
		region := cfg.Region
		if region == "" {
			region = DefaultRegion
		}
		cc.sign = newSigner(cfg.AccessKey, cfg.SecretKey, region)
	}
	t := &target{backend: strings.TrimRight(cfg.Backend, "/"), bucket: cfg.Bucket, logf: cfg.logf()}
	t.bodyLeak = cfg.has(LeakBackendBodyNotClosed)
	perRequest := cfg.has(LeakBackendTransportPerRequest)
	if t.bodyLeak || perRequest {
		// Both bugs are net/http Transport bugs; they force the net/http
		// backend client whatever --client-engine says.
		nc := newNetClient(cc)
		nc.perRequest = perRequest
		t.net = nc
		t.client = nc
	} else {
		t.client = newClient(cc)
	}
	if cfg.Cache {
		t.cache = &sync.Map{}
	}
	return t
}

func (t *target) serveObject(ctx context.Context, r request) response {
	if t.bucket != "" && r.bucket != t.bucket {
		return textResponse(http.StatusNotFound, "no such bucket: "+r.bucket)
	}
	u := t.backend + "/" + r.bucket + "/" + escapeKey(r.key)
	ck := r.bucket + "/" + r.key
	if t.cache != nil && r.method == http.MethodGet {
		if v, ok := t.cache.Load(ck); ok {
			return v.(response)
		}
	}
	var hdr map[string]string
	if r.method == http.MethodPut {
		hdr = map[string]string{"Content-Type": "application/octet-stream"}
	}
	if t.bodyLeak && (r.method == http.MethodGet || r.method == http.MethodHead) {
		// The bug: a "stat" by GET whose body is never read nor closed,
		// sent on a context that outlives the request (as with a client
		// that uses context.Background). Its connection stays busy
		// forever: never reused, never reclaimed.
		if resp, err := t.net.send(context.WithoutCancel(ctx), http.MethodGet, u, nil, nil); err == nil {
			_ = resp // body deliberately leaked
		}
	}
	resp, err := t.client.do(ctx, r.method, u, hdr, r.body)
	if err != nil {
		t.logf("error: target %s %s: %v", r.method, u, err)
		return textResponse(http.StatusBadGateway, "backend unreachable: "+err.Error())
	}
	if resp.status >= 300 {
		status, code := mapS3Status(resp.status, resp.body)
		if status >= 500 {
			t.logf("error: target %s %s: backend %d %s", r.method, u, resp.status, code)
		}
		return textResponse(status, code)
	}
	if t.cache != nil {
		switch r.method {
		case http.MethodGet:
			t.cache.Store(ck, resp)
		case http.MethodPut, http.MethodDelete:
			t.cache.Delete(ck)
		}
	}
	if r.method != http.MethodGet && r.method != http.MethodHead {
		resp.body = nil
	}
	return resp
}

func (t *target) close() { t.client.closeIdle() }
