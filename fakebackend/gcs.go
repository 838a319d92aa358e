//go:build gcs

// The fake GCS is built only with -tags gcs (make build GCS=1): fake-gcs-server
// pulls cloud.google.com/go/storage, gRPC and OpenTelemetry, half of a cold
// build of soak (docs/backends.md). gcs_off.go registers the kind otherwise.

package fakebackend

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"unsafe"

	"github.com/fsouza/fake-gcs-server/fakestorage"
	"github.com/soak-dev/soak/scenarios"
)

// gcsBuilt is true: this soak serves the fake GCS.
const gcsBuilt = true

func init() { registerKind(scenarios.GCSBackend{}, newGCSProto) }

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
	srv                *fakestorage.Server
	maxBytes, maxCount int64

	mu       sync.Mutex // serialises admissions, so reservations add up
	inflight int64      // bytes of bodies admitted and being stored
	// resumable holds the bytes of resumable uploads not finished, by
	// upload id: fake-gcs-server keeps their chunks in memory, outside its
	// listing, until the last chunk (forever if the client gives up), so
	// they count against max_bytes, and each such upload as an object.
	resumable map[string]int64
}

func newGCSProto(cfg *scenarios.Backend) (protocol, error) {
	srv, err := fakestorage.NewServerWithOptions(fakestorage.Options{NoListener: true, PublicHost: gcsPublicHost})
	if err != nil {
		return nil, fmt.Errorf("start fake-gcs-server: %w", err)
	}
	p := &gcsProto{srv: srv, maxBytes: DefaultMaxBytes, maxCount: DefaultMaxCount, resumable: map[string]int64{}}
	if o := cfg.Objects; o != nil {
		if o.MaxBytes > 0 {
			p.maxBytes = int64(o.MaxBytes)
		}
		if o.MaxCount > 0 {
			p.maxCount = int64(o.MaxCount)
		}
	}
	return p, nil
}

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
		var n int64
		if r.Body != nil && r.Body != http.NoBody {
			body, release, ok := p.admit(w, r)
			if !ok {
				return
			}
			defer release()
			r2 := new(http.Request)
			*r2 = *r
			r2.Body = body
			r = r2
			n = body.n
		}
		// A chunk of a resumable upload (even an empty last one) is
		// counted by the answer it gets.
		if id := gcsUploadID(r); id != "" {
			sw := &gcsStatusWriter{ResponseWriter: w}
			h.ServeHTTP(sw, r)
			p.chunkDone(id, n, sw)
			return
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
	p.writeJSONError(w, status, reason, msg)
}

// writeJSONError writes GCS's JSON error body.
func (p *gcsProto) writeJSONError(w http.ResponseWriter, status int, reason, msg string) {
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

// admit bounds a request body by what the caps leave (objects.max_bytes,
// max_count; fake-gcs-server has none of its own, and held 3 x 300 MiB):
// the body is read here, at most the room left plus one byte, and reserved
// until the request ends; over the cap is GCS's 413 JSON error. What is
// held is summed from the store's listing, so it is exact whatever the
// upload kind (media, multipart, XML PUT, compose), plus the chunks of
// resumable uploads not yet finished (not in the listing; chunkDone).
func (p *gcsProto) admit(w http.ResponseWriter, r *http.Request) (*gcsBody, func(), bool) {
	p.mu.Lock()
	held, count := p.held()
	var pending int64
	for _, n := range p.resumable {
		pending += n
	}
	room := max(0, p.maxBytes-held-pending-p.inflight)
	// A chunk of an upload already counted makes no new object.
	_, counted := p.resumable[gcsUploadID(r)]
	unfinished := int64(len(p.resumable))
	newObjects := count + unfinished
	if !counted {
		newObjects++
	}
	if r.ContentLength > room || newObjects > p.maxCount && isGCSUpload(r) {
		p.abandonLocked(gcsUploadID(r))
		p.mu.Unlock()
		p.tooLarge(w, held, count, pending, unfinished)
		return nil, nil, false
	}
	// Reserve the room (or the declared length) while the body arrives.
	reserve := room
	if r.ContentLength >= 0 {
		reserve = r.ContentLength
	}
	p.inflight += reserve
	p.mu.Unlock()
	b, err := io.ReadAll(io.LimitReader(r.Body, reserve+1))
	release := func() {
		p.mu.Lock()
		p.inflight -= reserve
		p.mu.Unlock()
	}
	if err != nil {
		release()
		p.writeJSONError(w, http.StatusBadRequest, "invalid", "reading the request body: "+err.Error())
		return nil, nil, false
	}
	if int64(len(b)) > reserve {
		release()
		p.mu.Lock()
		p.abandonLocked(gcsUploadID(r))
		p.mu.Unlock()
		p.tooLarge(w, held, count, pending, unfinished)
		return nil, nil, false
	}
	return &gcsBody{Reader: bytes.NewReader(b), n: int64(len(b))}, release, true
}

// gcsBody is a request body admitted and read whole: n bytes.
type gcsBody struct {
	*bytes.Reader
	n int64
}

func (*gcsBody) Close() error { return nil }

// gcsUploadID returns the upload id a chunk of a resumable upload is sent
// to (?upload_id= or /upload/resumable/ID), or "".
func gcsUploadID(r *http.Request) string {
	if !strings.HasPrefix(r.URL.Path, "/upload/") || r.Method != http.MethodPut && r.Method != http.MethodPost {
		return ""
	}
	if id := r.URL.Query().Get("upload_id"); id != "" {
		return id
	}
	if id, ok := strings.CutPrefix(r.URL.Path, "/upload/resumable/"); ok {
		return id
	}
	return ""
}

// chunkDone counts n bytes of chunk sent to upload id by how
// fake-gcs-server answered it: more expected (308, or 200 with the Go
// client's override header) keeps them held; the upload finished (200,
// 201) moves them into the listing; any other answer kept nothing new.
func (p *gcsProto) chunkDone(id string, n int64, sw *gcsStatusWriter) {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch {
	case sw.code == http.StatusPermanentRedirect || sw.Header().Get("X-Http-Status-Code-Override") == "308":
		p.resumable[id] += n
	case sw.code == http.StatusOK || sw.code == http.StatusCreated:
		delete(p.resumable, id)
	}
}

// abandonLocked drops resumable upload id, refused over the cap: the
// client cannot finish it, and fake-gcs-server never frees an upload
// itself (its cancel answers 499 and keeps it), so its chunks and its
// place under the cap would be held for the backend's life and every later
// upload refused. fakestorage has no API for it: its unexported uploads map
// is reached by reflection (the version is pinned in go.mod;
// TestGCSResumableCapped fails if this stops freeing the upload).
func (p *gcsProto) abandonLocked(id string) {
	if id == "" {
		return
	}
	f := reflect.ValueOf(p.srv).Elem().FieldByName("uploads")
	if f.IsValid() && f.Type() == reflect.TypeFor[sync.Map]() && f.CanAddr() {
		(*sync.Map)(unsafe.Pointer(f.UnsafeAddr())).Delete(id)
		delete(p.resumable, id) // freed: no longer held
	}
	// Else the chunks stay held, and counted.
}

// gcsStatusWriter remembers the status fake-gcs-server answered with.
type gcsStatusWriter struct {
	http.ResponseWriter
	code int
}

func (w *gcsStatusWriter) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *gcsStatusWriter) Write(b []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// held sums the objects stored.
func (p *gcsProto) held() (n, count int64) {
	be := p.srv.Backend()
	buckets, err := be.ListBuckets()
	if err != nil {
		return 0, 0
	}
	for _, b := range buckets {
		objs, err := be.ListObjects(b.Name, "", false)
		if err != nil {
			continue
		}
		for _, o := range objs {
			n += o.Size
			count++
		}
	}
	return n, count
}

// isGCSUpload reports whether r may create an object.
func isGCSUpload(r *http.Request) bool {
	return strings.HasPrefix(r.URL.Path, "/upload/") || r.Method == http.MethodPut && isGCSXMLPath(r.URL.Path) ||
		strings.HasSuffix(r.URL.Path, "/compose") || strings.Contains(r.URL.Path, "/copyTo/") || strings.Contains(r.URL.Path, "/rewriteTo/")
}

func (p *gcsProto) tooLarge(w http.ResponseWriter, held, count, pending, unfinished int64) {
	msg := fmt.Sprintf("the fake backend holds at most %d bytes and %d objects in memory (%d bytes, %d objects held", p.maxBytes, p.maxCount, held, count)
	if unfinished > 0 {
		// Unfinished uploads are held until they finish: say so, or a
		// client that gave up on one could not tell why nothing fits.
		msg += fmt.Sprintf(", %d bytes in %d unfinished resumable uploads", pending, unfinished)
	}
	p.writeJSONError(w, http.StatusRequestEntityTooLarge, "uploadTooLarge", msg+"); raise objects.max_bytes/max_count")
}
