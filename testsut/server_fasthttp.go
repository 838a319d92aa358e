package testsut

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/fasthttpadaptor"
)

// fastRequestTimeout bounds one object request on the fasthttp server,
// which has no per-request context of its own.
const fastRequestTimeout = time.Minute

// fastServer is the node's fasthttp server.
func (n *node) fastServer() *fasthttp.Server {
	debug := fasthttpadaptor.NewFastHTTPHandler(debugMux())
	h := func(ctx *fasthttp.RequestCtx) {
		path := string(ctx.Path())
		method := string(ctx.Method())
		switch {
		case strings.HasPrefix(path, "/debug/pprof/"):
			debug(ctx)
			return
		case path == "/metrics":
			ctx.SetContentType("text/plain; version=0.0.4; charset=utf-8")
			writeMetrics(ctx, &n.stats)
			return
		}
		if resp, ok := n.fixedRoute(path); ok {
			writeFast(ctx, resp)
			return
		}
		bucket, key, ok := parseObjectPath(path)
		if !ok {
			writeFast(ctx, textResponse(http.StatusNotFound, "not found: "+path))
			return
		}
		if !objectMethod(method) {
			ctx.Response.Header.Set("Allow", "GET, PUT, HEAD, DELETE")
			writeFast(ctx, textResponse(http.StatusMethodNotAllowed, "method not allowed"))
			return
		}
		var body []byte
		if method == http.MethodPut {
			body = append([]byte(nil), ctx.PostBody()...)
		}
		// Not ctx itself: a RequestCtx is recycled after the handler, and
		// a client (or a leak) may hold the context longer.
		rctx, cancel := context.WithTimeout(context.Background(), fastRequestTimeout)
		defer cancel()
		writeFast(ctx, n.object(rctx, request{method: method, bucket: bucket, key: key, body: body}))
	}
	c := n.cfg
	s := &fasthttp.Server{
		Handler:               h,
		Name:                  "soak-testsut",
		IdleTimeout:           c.effectiveIdleTimeout(),
		NoDefaultServerHeader: true,
		CloseOnShutdown:       true,
		Logger:                fastLogger{n.cfg.logf()},
	}
	if !c.has(LeakServerNoIdleTimeout) {
		// fasthttp has no header-only timeout: ReadTimeout bounds the whole
		// request read, and is also what IdleTimeout 0 falls back to.
		s.ReadTimeout = c.ReadHeaderTimeout
	}
	return s
}

// writeFast writes resp; fasthttp sends no body for HEAD by itself.
func writeFast(ctx *fasthttp.RequestCtx, resp response) {
	for k, v := range resp.header {
		if k != "Content-Length" {
			ctx.Response.Header.Set(k, v)
		}
	}
	ctx.SetStatusCode(resp.status)
	if ctx.IsHead() {
		n, err := strconv.Atoi(resp.header["Content-Length"])
		if err != nil {
			n = len(resp.body)
		}
		ctx.Response.Header.SetContentLength(n)
		ctx.Response.SkipBody = true
		return
	}
	ctx.SetBody(resp.body)
}

// fastLogger sends fasthttp's log lines to the node's logger.
type fastLogger struct{ logf func(string, ...any) }

func (l fastLogger) Printf(format string, args ...any) { l.logf("error: fasthttp: "+format, args...) }
