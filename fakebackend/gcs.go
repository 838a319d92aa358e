//go:build gcs

// The fake GCS is built only with -tags gcs (make build GCS=1): fake-gcs-server
// pulls cloud.google.com/go/storage, gRPC and OpenTelemetry, half of a cold
// build of soak (docs/backends.md). gcs_off.go registers the kind otherwise.

package fakebackend

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"strings"

	"github.com/fsouza/fake-gcs-server/fakestorage"
	"github.com/soak-dev/soak/scenarios"
)

// gcsBuilt is true: this soak serves the fake GCS.
const gcsBuilt = true

func init() { registerKind("gcs", newGCSProto) }

var _ protocol = (*gcsProto)(nil)

// gcsPublicHost is the host fake-gcs-server answers XML-API-style object
// paths (/bucket/object) on, as the Go client reads through a custom
// endpoint or STORAGE_EMULATOR_HOST. The JSON API (/storage/v1,
// /upload/storage/v1) answers on any host; handler makes the XML API do so
// too.
const gcsPublicHost = "127.0.0.1"

// gcsProto is the GCS JSON API on fake-gcs-server, served without its own
// listener so the shared wrapper sees every connection.
type gcsProto struct {
	srv *fakestorage.Server
}

func newGCSProto(cfg *scenarios.Backend) (protocol, error) {
	srv, err := fakestorage.NewServerWithOptions(fakestorage.Options{NoListener: true, PublicHost: gcsPublicHost})
	if err != nil {
		return nil, fmt.Errorf("start fake-gcs-server: %w", err)
	}
	return &gcsProto{srv: srv}, nil
}

func (p *gcsProto) kind() string { return "gcs" }

// handler serves fake-gcs-server. XML-API requests reach it with their
// Host set to gcsPublicHost: fake-gcs-server routes /bucket/object on any
// other host as a bucket named by the host, so a client given
// STORAGE_EMULATOR_HOST=localhost:PORT could write but not read. JSON-API
// requests keep their Host, which names the resumable-upload URL.
func (p *gcsProto) handler() http.Handler {
	h := p.srv.HTTPHandler()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if isGCSXMLPath(r.URL.Path) {
			host, port, err := net.SplitHostPort(r.Host)
			if err != nil {
				host, port = r.Host, ""
			}
			if host != gcsPublicHost {
				r2 := new(http.Request)
				*r2 = *r
				r2.Host = gcsPublicHost
				if port != "" {
					r2.Host = net.JoinHostPort(gcsPublicHost, port)
				}
				r = r2
			}
		}
		h.ServeHTTP(w, r)
	})
}

// isGCSXMLPath reports whether p is an XML-API path (/bucket[/object])
// rather than one of the JSON API's or fake-gcs-server's own.
func isGCSXMLPath(p string) bool {
	for _, prefix := range []string{"/storage/v1/", "/upload/", "/download/", "/batch/", "/_internal/"} {
		if strings.HasPrefix(p, prefix) {
			return false
		}
	}
	return true
}

func (p *gcsProto) createBuckets(names []string) error {
	for _, b := range names {
		if _, err := p.srv.Backend().GetBucket(b); err == nil {
			continue
		}
		p.srv.CreateBucketWithOpts(fakestorage.CreateBucketOpts{Name: b})
	}
	return nil
}

// writeError answers like GCS: a JSON error whose reason the client
// libraries map to a retryable failure (backendError for 500, rateLimitExceeded
// for 503).
func (p *gcsProto) writeError(w http.ResponseWriter, r *http.Request, status int) {
	reason, msg := "backendError", "Backend Error"
	if status == http.StatusServiceUnavailable {
		reason, msg = "rateLimitExceeded", "The service is currently unavailable."
	}
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.WriteHeader(status)
	type item struct {
		Domain  string `json:"domain"`
		Reason  string `json:"reason"`
		Message string `json:"message"`
	}
	body := map[string]any{"error": map[string]any{
		"code": status, "message": msg, "errors": []item{{"global", reason, msg}},
	}}
	_ = json.NewEncoder(w).Encode(body)
}
