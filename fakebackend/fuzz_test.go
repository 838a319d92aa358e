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
// gofakes3): it must answer, never panic. Seeds: testdata/fuzz/FuzzS3Request
// plus the malformed requests of the tests.
func FuzzS3Request(f *testing.F) {
	for _, m := range malformedRequests {
		f.Add([]byte(m.raw))
	}
	objs := &scenarios.Objects{MaxBytes: 1 << 20, MaxCount: 1000, Synthetic: []*scenarios.Synthetic{{Prefix: "gen/", Size: 4096}}}
	var handlers []http.Handler
	for _, cfg := range []*scenarios.Backend{
		{Kind: "s3", Buckets: []string{"fuzz"}, Objects: objs},
		{Kind: "s3", Buckets: []string{"fuzz"}, VerifySignatures: true},
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
