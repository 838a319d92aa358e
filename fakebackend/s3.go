package fakebackend

import (
	"encoding/xml"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
	"github.com/soak-dev/soak/scenarios"
)

func init() { registerKind("s3", newS3Proto) }

// NewS3Handler returns the bare S3 handler (gofakes3 on the capped memory
// store), with no ledger, faults or signature checks: the baseline that
// the benchmarks measure the cost of tracking against.
func NewS3Handler(cfg *scenarios.Backend) http.Handler {
	var objs *scenarios.Objects
	if cfg != nil {
		objs = cfg.Objects
	}
	return newGoFakeS3(newCapStore(s3mem.New(), objs)).Server()
}

func newGoFakeS3(store gofakes3.Backend) *gofakes3.GoFakeS3 {
	return gofakes3.New(store, gofakes3.WithAutoBucket(true), gofakes3.WithoutVersioning())
}

// s3Proto is S3 on gofakes3 plus what gofakes3 lacks: caps answered before
// the body is read, SigV4 verification, and S3 error bodies for faults.
type s3Proto struct {
	store    *capStore
	fake     http.Handler
	verifier *sigV4Verifier // nil: signatures are not checked
}

func newS3Proto(cfg *scenarios.Backend) (protocol, error) {
	store := newCapStore(s3mem.New(), cfg.Objects)
	p := &s3Proto{store: store, fake: newGoFakeS3(store).Server()}
	if cfg.VerifySignatures {
		ak, sk := Credentials(cfg)
		p.verifier = &sigV4Verifier{accessKey: ak, secretKey: sk}
	}
	return p, nil
}

func (p *s3Proto) kind() string { return "s3" }

func (p *s3Proto) createBuckets(names []string) error {
	for _, b := range names {
		ok, err := p.store.BucketExists(b)
		if err != nil {
			return err
		}
		if ok {
			continue
		}
		if err := gofakes3.ValidateBucketName(b); err != nil {
			return fmt.Errorf("bucket %q: %w", b, err)
		}
		if err := p.store.CreateBucket(b); err != nil {
			return fmt.Errorf("bucket %q: %w", b, err)
		}
	}
	return nil
}

func (p *s3Proto) handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p.verifier != nil {
			if code, msg := p.verifier.verify(r); code != "" {
				status := http.StatusForbidden
				writeS3Error(w, r, status, code, msg)
				return
			}
		}
		if r.Method == http.MethodPut {
			// Refuse over-cap uploads before reading them: gofakes3 would
			// answer the store's refusal as a 500 after the whole body.
			if size := uploadSize(r); size > 0 {
				if err := p.store.admit(size, p.isNewObject(r)); err != nil {
					writeS3Error(w, r, http.StatusBadRequest, string(codeEntityTooLarge), err.(*gofakes3.ErrorResponse).Message)
					return
				}
			}
		}
		p.fake.ServeHTTP(w, r)
	})
}

// isNewObject reports whether a PUT creates an object (not a part of a
// multipart upload, not an overwrite).
func (p *s3Proto) isNewObject(r *http.Request) bool {
	if r.URL.Query().Has("uploadId") {
		return false
	}
	bucket, key, ok := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
	return ok && key != "" && !p.store.exists(bucket, key)
}

// uploadSize is the object bytes a PUT carries (the decoded length of an
// aws-chunked body), or -1 when unknown.
func uploadSize(r *http.Request) int64 {
	if v := r.Header.Get("X-Amz-Decoded-Content-Length"); v != "" {
		if n, err := strconv.ParseInt(v, 10, 64); err == nil {
			return n
		}
	}
	return r.ContentLength
}

func (p *s3Proto) writeError(w http.ResponseWriter, r *http.Request, status int) {
	code, msg := "InternalError", "We encountered an internal error. Please try again."
	if status == http.StatusServiceUnavailable {
		code, msg = "SlowDown", "Please reduce your request rate."
	}
	writeS3Error(w, r, status, code, msg)
}

// s3Error is S3's XML error body.
type s3Error struct {
	XMLName   xml.Name `xml:"Error"`
	Code      string
	Message   string
	Resource  string `xml:",omitempty"`
	RequestID string `xml:"RequestId"`
}

func writeS3Error(w http.ResponseWriter, r *http.Request, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/xml")
	w.WriteHeader(status)
	if r.Method == http.MethodHead {
		return
	}
	b, _ := xml.Marshal(s3Error{Code: code, Message: msg, Resource: r.URL.Path, RequestID: "soak"})
	_, _ = w.Write([]byte(xml.Header))
	_, _ = w.Write(b)
}
