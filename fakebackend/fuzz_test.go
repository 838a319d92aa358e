package fakebackend

import (
	"bufio"
	"bytes"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/soak-dev/soak/scenarios"
)

// FuzzS3Request feeds raw bytes, parsed as an HTTP request, through the S3
// backend's whole request path (middleware, signature check, caps,
// gofakes3), path-style and virtual-hosted-style: it must answer, never
// panic. Seeds: testdata/fuzz/FuzzS3Request, the malformed requests of the
// tests and virtual-hosted requests.
func FuzzS3Request(f *testing.F) {
	for _, m := range malformedRequests {
		f.Add([]byte(m.raw))
	}
	for _, raw := range []string{
		"PUT /key HTTP/1.1\r\nHost: fuzz.localhost:9000\r\nContent-Length: 5\r\n\r\nhello",
		"GET /gen/x HTTP/1.1\r\nHost: fuzz.s3.localhost\r\nRange: bytes=10-20\r\n\r\n",
		"GET /?list-type=2&delimiter=/ HTTP/1.1\r\nHost: fuzz.127.0.0.1.nip.io:1\r\n\r\n",
		"PUT / HTTP/1.1\r\nHost: new-bucket.localhost.\r\nContent-Length: 0\r\n\r\n",
		"POST /obj?uploads HTTP/1.1\r\nHost: FUZZ.LOCALHOST\r\n\r\n",
		"GET %2F..%2Fx HTTP/1.1\r\nHost: fuzz.localhost\r\n\r\n",
		"GET * HTTP/1.1\r\nHost: fuzz.localhost\r\n\r\n",
	} {
		f.Add([]byte(raw))
	}
	objs := &scenarios.Objects{MaxBytes: 1 << 20, MaxCount: 1000, Synthetic: []*scenarios.Synthetic{{Prefix: "gen/", Size: 4096}}}
	var handlers []http.Handler
	for _, cfg := range []*scenarios.Backend{
		{Kind: "s3", Buckets: []string{"fuzz"}, Objects: objs},
		{Kind: "s3", Buckets: []string{"fuzz"}, VerifySignatures: true},
		{Kind: "s3", Buckets: []string{"fuzz"}, Objects: objs, VirtualHostBases: []string{"127.0.0.1.nip.io"}},
	} {
		b, err := New("fuzz", cfg, nil)
		if err != nil {
			f.Fatal(err)
		}
		srv := b.(*server)
		if err := srv.proto.createBuckets(cfg.Buckets); err != nil {
			f.Fatal(err)
		}
		handlers = append(handlers, srv.Handler())
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		for _, h := range handlers {
			req, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(raw)))
			if err != nil {
				return // net/http answers these itself with a 400
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, req)
			if w.Code < 100 || w.Code > 599 {
				t.Fatalf("status %d", w.Code)
			}
		}
	})
}
