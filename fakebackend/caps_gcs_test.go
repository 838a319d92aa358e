//go:build gcs

package fakebackend

import (
	"bytes"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/soak-dev/soak/scenarios"
)

// TestGCSCapped: the fake GCS had no cap at all (3 x 300 MiB held, RSS
// 2.1 GB). Here 400 KiB objects under a 1 MiB cap, by declared length and
// chunked: refused with GCS's 413 JSON error once they would not fit.
func TestGCSCapped(t *testing.T) {
	t.Parallel()
	b, _ := startBackend(t, &scenarios.Backend{Kind: "gcs", Buckets: []string{"gcap"}, Objects: &scenarios.Objects{MaxBytes: capMiB}})
	put := func(name string, body io.Reader, n int64) (int, string) {
		req, err := http.NewRequest(http.MethodPost, b.URL()+"/upload/storage/v1/b/gcap/o?uploadType=media&name="+name, body)
		if err != nil {
			t.Fatal(err)
		}
		req.ContentLength = n
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return resp.StatusCode, string(msg)
	}
	obj := make([]byte, 400<<10)
	for _, name := range []string{"a", "b"} {
		if code, msg := put(name, bytes.NewReader(obj), int64(len(obj))); code != http.StatusOK {
			t.Fatalf("put %s within the cap: %d %s", name, code, msg)
		}
	}
	for _, tc := range []struct {
		name string
		n    int64
	}{{"declared", int64(len(obj))}, {"chunked", -1}} {
		code, msg := put("c", io.LimitReader(filler{}, int64(len(obj))), tc.n)
		if code != http.StatusRequestEntityTooLarge || !strings.Contains(msg, `"reason":"uploadTooLarge"`) {
			t.Errorf("%s: third 400 KiB object under a 1 MiB cap: %d %s, want 413 uploadTooLarge", tc.name, code, msg)
		}
	}
}
