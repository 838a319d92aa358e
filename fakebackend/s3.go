package fakebackend

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
	"github.com/soak-dev/soak/scenarios"
)

func init() { registerKind(s3Kind, newS3Proto) }

// s3Kind is the schema's spec of the kind: its name and bucket rules.
var s3Kind scenarios.S3Backend

var _ protocol = (*s3Proto)(nil)

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
// the body is read, SigV4 verification, virtual-hosted-style addressing and
// S3 error bodies for faults.
type s3Proto struct {
	store    *capStore
	fake     http.Handler
	verifier *sigV4Verifier // nil: signatures are not checked
	// hostBases are the bases of virtual-hosted-style hosts, lower case:
	// localhost, then scenarios.Backend.VirtualHostBases.
	hostBases []string
}

// defaultHostBase is always a base of virtual-hosted-style hosts: names
// under localhost are loopback names (RFC 6761), never a remote host a SUT
// means to reach path-style.
const defaultHostBase = "localhost"

func newS3Proto(cfg *scenarios.Backend) (protocol, error) {
	store := newCapStore(s3mem.New(), cfg.Objects)
	p := &s3Proto{store: store, fake: newGoFakeS3(store).Server(), hostBases: []string{defaultHostBase}}
	for _, b := range cfg.VirtualHostBases {
		base := strings.Trim(strings.ToLower(b), ".")
		if base == "" || strings.ContainsAny(base, ":/ ") {
			return nil, fmt.Errorf("virtual_host_bases: %q is not a host name (give it without scheme or port)", b)
		}
		p.hostBases = append(p.hostBases, base)
	}
	if cfg.VerifySignatures {
		ak, sk := Credentials(cfg)
		p.verifier = &sigV4Verifier{accessKey: ak, secretKey: sk}
	}
	return p, nil
}

func (p *s3Proto) createBuckets(names []string) error {
	for _, b := range names {
		ok, err := p.store.BucketExists(b)
		if err != nil {
			return err
		}
		if ok {
			continue
		}
		if msg := s3Kind.BucketNameError(b); msg != "" {
			return fmt.Errorf("bucket %q is not a valid S3 bucket name: %s", b, msg)
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
		// After the signature check: the client signed the path it sent.
		bucket, vhost := p.hostBucket(r.Host)
		hasBody := r.Body != nil && r.Body != http.NoBody
		if vhost || hasBody {
			r2 := new(http.Request) // a copy: handlers must not modify r
			*r2 = *r
			if vhost {
				r2.URL = urlWithBucket(r.URL, bucket)
			}
			if hasBody {
				r2.Body = incompleteBody{r.Body}
			}
			r = r2
		}
		// S3 refuses a bucket name it would never create; gofakes3 would
		// auto-create it (WithAutoBucket) and hide a SUT's bad name.
		if b, _, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/"); b != "" && s3Kind.BucketNameError(b) != "" {
			writeS3Error(w, r, http.StatusBadRequest, "InvalidBucketName", "The specified bucket is not valid.")
			return
		}
		q := r.URL.Query()
		uploadID := q.Get("uploadId")
		switch {
		case r.Method == http.MethodPut && uploadID != "" && q.Has("partNumber"):
			// A part: held in memory until the upload ends, so reserved
			// now, before its body is read.
			n, _ := strconv.Atoi(q.Get("partNumber"))
			size := uploadSize(r)
			if size > 0 {
				undo, err := p.store.reservePart(uploadID, n, size)
				if err != nil {
					writeS3Error(w, r, http.StatusBadRequest, string(codeEntityTooLarge), err.(*gofakes3.ErrorResponse).Message)
					return
				}
				sw := &statusWriter{ResponseWriter: w}
				p.fake.ServeHTTP(sw, r)
				if sw.status >= 300 {
					undo()
				}
				return
			}
		case r.Method == http.MethodPut:
			// Refuse over-cap uploads before reading them: gofakes3 would
			// answer the store's refusal as a 500 after the whole body.
			// Admitting it as a new object is the stricter test; only when
			// that fails is it worth a lookup of whether it overwrites one.
			if size := uploadSize(r); size > 0 && p.store.admit(size, true) != nil {
				if err := p.store.admit(size, p.isNewObject(r)); err != nil {
					writeS3Error(w, r, http.StatusBadRequest, string(codeEntityTooLarge), err.(*gofakes3.ErrorResponse).Message)
					return
				}
			}
		case hasBody:
			// CompleteMultipartUpload, multi-delete: XML that gofakes3
			// reads whole into memory. Bounded as S3 bounds them.
			var ok bool
			if r, ok = p.boundXML(w, r); !ok {
				return
			}
		}
		if uploadID != "" && (r.Method == http.MethodPost || r.Method == http.MethodDelete) {
			// Complete (its object is counted by PutObject) or abort.
			undo := p.store.releaseUpload(uploadID)
			sw := &statusWriter{ResponseWriter: w}
			p.fake.ServeHTTP(sw, r)
			if sw.status >= 300 {
				undo()
			}
			return
		}
		p.fake.ServeHTTP(w, r)
	})
}

// MaxXMLBody bounds the XML body of a request (CompleteMultipartUpload with
// 10,000 parts is about 1 MB); a 1 GiB one was read whole into memory.
const MaxXMLBody = 2 << 20

// boundXML reads r's body (at most MaxXMLBody) and answers S3's
// MaxMessageLengthExceeded when it is larger; ok is false when answered.
func (p *s3Proto) boundXML(w http.ResponseWriter, r *http.Request) (*http.Request, bool) {
	tooBig := func() (*http.Request, bool) {
		writeS3Error(w, r, http.StatusBadRequest, "MaxMessageLengthExceeded", fmt.Sprintf("Your request was too big (at most %d bytes).", MaxXMLBody))
		return nil, false
	}
	if r.ContentLength > MaxXMLBody {
		return tooBig()
	}
	b, err := io.ReadAll(io.LimitReader(r.Body, MaxXMLBody+1))
	if err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, gofakes3.ErrIncompleteBody) {
			writeS3Error(w, r, http.StatusBadRequest, "IncompleteBody", "You did not provide the number of bytes specified by the Content-Length HTTP header.")
		} else {
			writeS3Error(w, r, http.StatusBadRequest, "RequestTimeout", "Your socket connection to the server was not read from or written to within the timeout period.")
		}
		return nil, false
	}
	if len(b) > MaxXMLBody {
		return tooBig()
	}
	r2 := new(http.Request)
	*r2 = *r
	r2.Body = io.NopCloser(bytes.NewReader(b))
	return r2, true
}

// hostBucket returns the bucket a virtual-hosted-style request names in
// its Host: BUCKET.BASE or BUCKET.NAME.BASE (any port) where BASE is
// localhost or one of the configured bases and BUCKET, the first label, is
// a valid bucket name. Anything else (an IP address, localhost itself,
// s3.localhost, a bucket name with dots) is path-style.
//
// gofakes3 has WithHostBucket and WithHostBucketBase, but neither fits:
// the first takes the first label of every host (127.0.0.1 would be bucket
// "127", breaking path-style), the second compares the Host with its port
// against the base (data.localhost:9000 never matches), and both rewrite
// inside gofakes3, after the caps here have read the bucket from the path.
func (p *s3Proto) hostBucket(host string) (string, bool) {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.ToLower(host), ".")
	label, rest, ok := strings.Cut(host, ".")
	if !ok || net.ParseIP(host) != nil {
		return "", false
	}
	for _, base := range p.hostBases {
		if rest == base || strings.HasSuffix(rest, "."+base) {
			if gofakes3.ValidateBucketName(label) != nil {
				return "", false
			}
			return label, true
		}
	}
	return "", false
}

// urlWithBucket returns u addressed path-style: /bucket/key for a
// virtual-hosted /key.
func urlWithBucket(u *url.URL, bucket string) *url.URL {
	u2 := *u
	u2.Path = bucketPath(bucket, u.Path)
	if u2.RawPath != "" {
		u2.RawPath = bucketPath(bucket, u.RawPath)
	}
	return &u2
}

func bucketPath(bucket, p string) string {
	switch {
	case p == "" || p == "/":
		return "/" + bucket
	case !strings.HasPrefix(p, "/"):
		return "/" + bucket + "/" + p
	}
	return "/" + bucket + p
}

// incompleteBody turns a body cut short (fewer bytes than its
// Content-Length, a chunked body without its last chunk) into S3's 400
// IncompleteBody: gofakes3 answers a read error it does not know, as when
// it reads a CompleteMultipartUpload or multi-delete body, with a 500.
type incompleteBody struct{ io.ReadCloser }

func (b incompleteBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if errors.Is(err, io.ErrUnexpectedEOF) {
		err = gofakes3.ErrIncompleteBody
	}
	return n, err
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
