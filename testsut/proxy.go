package testsut

import (
	"context"
	"hash/fnv"
	"net/http"
	"net/url"
	"strings"
)

// proxy forwards object requests to a target chosen by a hash of the key.
type proxy struct {
	targets []string
	client  client
	logf    func(string, ...any)
}

func newProxy(cfg Config) *proxy {
	cc := clientConfig{
		engine:          cfg.clientEngine(),
		idleConnTimeout: cfg.IntraIdleConnTimeout,
		maxIdlePerHost:  cfg.IntraMaxIdlePerHost,
	}
	if cfg.has(LeakIntraNoIdleTimeout) {
		cc.idleConnTimeout = 0
		cc.maxIdlePerHost = leakyMaxIdlePerHost
	}
	targets := make([]string, len(cfg.Targets))
	for i, t := range cfg.Targets {
		targets[i] = strings.TrimRight(t, "/")
	}
	return &proxy{targets: targets, client: newClient(cc), logf: cfg.logf()}
}

// pick chooses the target for an object: the same key always goes to the same target.
func (p *proxy) pick(bucket, key string) string {
	h := fnv.New32a()
	h.Write([]byte(bucket))
	h.Write([]byte{'/'})
	h.Write([]byte(key))
	return p.targets[int(h.Sum32()%uint32(len(p.targets)))]
}

func (p *proxy) serveObject(ctx context.Context, r request) response {
	u := p.pick(r.bucket, r.key) + objectPrefix + r.bucket + "/" + escapeKey(r.key)
	var hdr map[string]string
	resp, err := p.client.do(ctx, r.method, u, hdr, r.body)
	if err != nil {
		p.logf("error: proxy %s %s: %v", r.method, u, err)
		return textResponse(http.StatusBadGateway, "target unreachable: "+err.Error())
	}
	return resp
}

func (p *proxy) close() { p.client.closeIdle() }

// escapeKey escapes each path segment of an object key.
func escapeKey(key string) string {
	parts := strings.Split(key, "/")
	for i, s := range parts {
		parts[i] = url.PathEscape(s)
	}
	return strings.Join(parts, "/")
}
