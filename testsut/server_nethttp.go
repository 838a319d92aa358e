package testsut

import (
	"io"
	"net/http"
	"net/http/pprof"
	"strconv"
)

// debugMux serves net/http/pprof under /debug/pprof/ on a mux of its own,
// so nothing is registered on http.DefaultServeMux.
func debugMux() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	return mux
}

// netServer is the node's net/http server.
func (n *node) netServer() *http.Server {
	debug := debugMux()
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case len(r.URL.Path) >= len("/debug/pprof/") && r.URL.Path[:len("/debug/pprof/")] == "/debug/pprof/":
			debug.ServeHTTP(w, r)
			return
		case r.URL.Path == "/metrics":
			w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
			writeMetrics(w, &n.stats)
			return
		}
		if resp, ok := n.fixedRoute(r.URL.Path); ok {
			writeNet(w, r, resp)
			return
		}
		bucket, key, ok := parseObjectPath(r.URL.Path)
		if !ok {
			writeNet(w, r, textResponse(http.StatusNotFound, "not found: "+r.URL.Path))
			return
		}
		if !objectMethod(r.Method) {
			w.Header().Set("Allow", "GET, PUT, HEAD, DELETE")
			writeNet(w, r, textResponse(http.StatusMethodNotAllowed, "method not allowed"))
			return
		}
		var body []byte
		if r.Method == http.MethodPut {
			b, err := io.ReadAll(r.Body)
			if err != nil {
				n.cfg.logf()("error: read request body: %v", err)
				writeNet(w, r, textResponse(http.StatusBadRequest, "read body: "+err.Error()))
				return
			}
			body = b
		}
		writeNet(w, r, n.object(r.Context(), request{method: r.Method, bucket: bucket, key: key, body: body}))
	})
	c := n.cfg
	return &http.Server{
		Handler:           h,
		IdleTimeout:       c.effectiveIdleTimeout(),
		ReadHeaderTimeout: c.ReadHeaderTimeout,
		// ReadTimeout stays 0: a set ReadTimeout would be the fallback of
		// IdleTimeout 0 and hide the server-no-idle-timeout leak.
	}
}

// writeNet writes resp; HEAD gets the headers and Content-Length only.
func writeNet(w http.ResponseWriter, r *http.Request, resp response) {
	for k, v := range resp.header {
		w.Header().Set(k, v)
	}
	if r.Method != http.MethodHead || resp.header["Content-Length"] == "" {
		w.Header().Set("Content-Length", strconv.Itoa(len(resp.body)))
	}
	w.WriteHeader(resp.status)
	if r.Method != http.MethodHead {
		w.Write(resp.body) // a client gone away is not the server's error
	}
}
