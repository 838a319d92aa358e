package testsut

import (
	"context"
	"net/http"
	"time"
)

// client sends requests to the next layer down (proxy -> target, target ->
// backend). Implementations are safe for concurrent use.
type client interface {
	// do sends one request and reads the whole response; a non-2xx status
	// is a response, not an error. Errors are for transport failures.
	do(ctx context.Context, method, url string, header map[string]string, body []byte) (response, error)
	// closeIdle closes the pool's idle connections (at shutdown).
	closeIdle()
}

// clientConfig is what a layer's client needs to know.
type clientConfig struct {
	engine          Engine
	idleConnTimeout time.Duration
	maxIdlePerHost  int
	// sign, if set, signs each request (SigV4) before it is sent.
	sign func(req *http.Request, payload []byte) error
}

// newClient builds the client for cfg.engine.
func newClient(cfg clientConfig) client {
	if cfg.engine == EngineFastHTTP {
		return newFastClient(cfg)
	}
	return newNetClient(cfg)
}
