package testsut

import (
	"context"
	"net/http"
	"strings"
)

// objectPrefix is the route prefix of object requests on both roles.
const objectPrefix = "/v1/objects/"

// request is an object request, independent of the server engine.
type request struct {
	method, bucket, key string
	body                []byte
}

// response is an object response, independent of the server engine.
type response struct {
	status int
	// header holds the few headers relayed between layers.
	header map[string]string
	body   []byte
}

// relayed are the headers passed back from backend to target to proxy to client.
var relayed = []string{"Content-Type", "ETag", "Last-Modified"}

// parseObjectPath splits /v1/objects/{bucket}/{key} (the key may hold
// slashes); ok is false for anything else.
func parseObjectPath(path string) (bucket, key string, ok bool) {
	rest, found := strings.CutPrefix(path, objectPrefix)
	if !found {
		return "", "", false
	}
	bucket, key, found = strings.Cut(rest, "/")
	if !found || bucket == "" || key == "" {
		return "", "", false
	}
	return bucket, key, true
}

// objectMethod reports whether m is served on object routes.
func objectMethod(m string) bool {
	switch m {
	case http.MethodGet, http.MethodPut, http.MethodHead, http.MethodDelete:
		return true
	}
	return false
}

// textResponse is a plain-text response with status s.
func textResponse(s int, msg string) response {
	return response{status: s, header: map[string]string{"Content-Type": "text/plain; charset=utf-8"}, body: []byte(msg + "\n")}
}

// objectHandler serves one object request; proxy and target implement it.
type objectHandler interface {
	serveObject(ctx context.Context, r request) response
}
