package fakebackend

import (
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/fsouza/fake-gcs-server/fakestorage"
	"github.com/soak-dev/soak/scenarios"
)

func init() { registerKind("gcs", newGCSProto) }

// gcsPublicHost is the host fake-gcs-server answers XML-API-style object
// paths (/bucket/object) on, as the Go client reads through a custom
// endpoint. The JSON API (/storage/v1, /upload/storage/v1) answers on any host.
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

func (p *gcsProto) handler() http.Handler { return p.srv.HTTPHandler() }

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
