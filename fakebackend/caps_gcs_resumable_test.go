//go:build gcs

package fakebackend

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"cloud.google.com/go/storage"
	"github.com/soak-dev/soak/scenarios"
	"google.golang.org/api/googleapi"
)

// TestGCSResumableCapped: chunks of a resumable upload were held by
// fake-gcs-server outside its listing, uncounted, so any object size got
// through (the Go client uploads in 16 MiB chunks). Here the real Go client
// in 256 KiB chunks: a 1.5 MiB object under a 1 MiB cap fails with GCS's
// 413 uploadTooLarge and is not stored, and its chunks are freed.
func TestGCSResumableCapped(t *testing.T) {
	t.Parallel()
	b, _ := startBackend(t, &scenarios.Backend{Kind: "gcs", Buckets: []string{"rcap"}, Objects: &scenarios.Objects{MaxBytes: capMiB}})
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	ctx := context.Background()
	obj := newGCSClient(t, b.URL(), tr).Bucket("rcap").Object("big")
	wr := obj.NewWriter(ctx)
	wr.ChunkSize = 256 << 10
	_, err := io.Copy(wr, io.LimitReader(filler{}, 3*capMiB/2))
	err = errors.Join(err, wr.Close())
	var gerr *googleapi.Error
	if !errors.As(err, &gerr) || gerr.Code != http.StatusRequestEntityTooLarge || !strings.Contains(err.Error(), "uploadTooLarge") {
		t.Errorf("1.5 MiB resumable upload under a 1 MiB cap: %v, want 413 uploadTooLarge", err)
	}
	if _, err := obj.Attrs(ctx); !errors.Is(err, storage.ErrObjectNotExist) {
		t.Errorf("the object over the cap was stored (attrs: %v)", err)
	}
	// The refused upload is dropped, its chunks freed: a 600 KiB object
	// fits again (fake-gcs-server alone would hold them for good).
	w2 := newGCSClient(t, b.URL(), tr).Bucket("rcap").Object("after").NewWriter(ctx)
	_, err = io.Copy(w2, io.LimitReader(filler{}, 600<<10))
	if err := errors.Join(err, w2.Close()); err != nil {
		t.Errorf("600 KiB after the refused upload, under a 1 MiB cap: %v", err)
	}
}

// TestGCSResumablePendingCounted: the chunks of an unfinished upload
// (600 KiB, by the raw resumable protocol) count against the total, so a
// 600 KiB media upload beside them is refused under a 1 MiB cap; once the
// upload finishes they are counted once, as its object.
func TestGCSResumablePendingCounted(t *testing.T) {
	t.Parallel()
	b, _ := startBackend(t, &scenarios.Backend{Kind: "gcs", Buckets: []string{"rcap"}, Objects: &scenarios.Objects{MaxBytes: capMiB}})
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr}
	do := func(method, url string, body io.Reader, n int64, hdr ...string) *http.Response {
		t.Helper()
		req, err := http.NewRequest(method, url, body)
		if err != nil {
			t.Fatal(err)
		}
		req.ContentLength = n
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { resp.Body.Close() })
		return resp
	}
	start := do(http.MethodPost, b.URL()+"/upload/storage/v1/b/rcap/o?uploadType=resumable&name=pending", nil, 0)
	loc := start.Header.Get("Location")
	if start.StatusCode != http.StatusOK || loc == "" {
		t.Fatalf("start a resumable upload: %d, Location %q", start.StatusCode, loc)
	}
	const part = 600 << 10
	chunk := do(http.MethodPut, loc, io.LimitReader(filler{}, part), part, "Content-Range", fmt.Sprintf("bytes 0-%d/*", part-1))
	if chunk.StatusCode != http.StatusPermanentRedirect {
		msg, _ := io.ReadAll(chunk.Body)
		t.Fatalf("first chunk of 600 KiB: %d %s, want 308", chunk.StatusCode, msg)
	}
	media := do(http.MethodPost, b.URL()+"/upload/storage/v1/b/rcap/o?uploadType=media&name=other", io.LimitReader(filler{}, part), part)
	if msg, _ := io.ReadAll(media.Body); media.StatusCode != http.StatusRequestEntityTooLarge || !strings.Contains(string(msg), `"reason":"uploadTooLarge"`) {
		t.Errorf("600 KiB media upload beside 600 KiB of unfinished chunks under a 1 MiB cap: %d %s, want 413 uploadTooLarge", media.StatusCode, msg)
	} else if !strings.Contains(string(msg), "614400 bytes in 1 unfinished resumable uploads") {
		t.Errorf("the refusal does not say what the unfinished upload holds: %s", msg)
	}
	// Finishing the upload (an empty last chunk) moves its bytes into the
	// listing: the count stays exact, and a small object still fits.
	end := do(http.MethodPut, loc, nil, 0, "Content-Range", fmt.Sprintf("bytes */%d", part))
	if end.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(end.Body)
		t.Fatalf("last (empty) chunk: %d %s, want 200", end.StatusCode, msg)
	}
	small := do(http.MethodPost, b.URL()+"/upload/storage/v1/b/rcap/o?uploadType=media&name=small", io.LimitReader(filler{}, 300<<10), 300<<10)
	if small.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(small.Body)
		t.Errorf("300 KiB beside the finished 600 KiB object under 1 MiB: %d %s, want 200", small.StatusCode, msg)
	}
}
