package fakebackend

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/soak-dev/soak/scenarios"
)

// TestAzureConcurrentUploadsMaxCount: max_count was checked, not reserved,
// before a body was read, so concurrent uploads of new blobs all passed it.
// Eight uploads under max_count 3 start together and send their bodies
// only once the backend has refused the others (or after 3 s): exactly
// three are stored, the rest refused with Azure's 413 RequestBodyTooLarge.
func TestAzureConcurrentUploadsMaxCount(t *testing.T) {
	t.Parallel()
	const n, maxCount = 8, 3
	b, _ := startBackend(t, &scenarios.Backend{Kind: "azure", Buckets: []string{"cnt"}, Objects: &scenarios.Objects{MaxCount: maxCount}})
	if stored := concurrentAzureUploads(t, b, "cnt", n, 16, n-maxCount); stored != maxCount {
		t.Errorf("%d of %d concurrent uploads stored under max_count %d, want exactly %d", stored, n, maxCount, maxCount)
	}
}

// concurrentAzureUploads starts n uploads of size bytes to container at
// once, holds their bodies until the backend has refused refusals of them
// (or 3 s have passed: a backend that admits them all refuses none before
// the bodies), then sends the bodies. It checks every refusal is Azure's
// 413 RequestBodyTooLarge and returns how many uploads were stored.
func concurrentAzureUploads(t *testing.T, b Backend, container string, n, size, refusals int) int {
	t.Helper()
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr}
	type result struct {
		code int
		msg  string
	}
	results := make(chan result, n)
	var writers []*io.PipeWriter
	for i := range n {
		pr, pw := io.Pipe()
		writers = append(writers, pw)
		req, err := http.NewRequest(http.MethodPut, fmt.Sprintf("%s/soak/%s/blob%d", b.URL(), container, i), pr)
		if err != nil {
			t.Fatal(err)
		}
		req.ContentLength = int64(size)
		req.Header.Set("x-ms-blob-type", "BlockBlob")
		go func() {
			resp, err := client.Do(req)
			if err != nil {
				results <- result{0, err.Error()}
				return
			}
			msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
			resp.Body.Close()
			results <- result{resp.StatusCode, string(msg)}
		}()
	}
	// The backend counts a refusal as its handler answers. The client may
	// not see it before the body is sent: net/http reads a small unread
	// body (under 256 KiB) before it writes the response.
	for deadline := time.Now().Add(3 * time.Second); b.Live().Errors < int64(refusals) && time.Now().Before(deadline); {
		time.Sleep(5 * time.Millisecond)
	}
	for _, pw := range writers {
		go func() { _, _ = pw.Write(make([]byte, size)); pw.Close() }()
	}
	stored := 0
	for range n {
		switch r := <-results; {
		case r.code == http.StatusCreated:
			stored++
		case r.code != http.StatusRequestEntityTooLarge || !strings.Contains(r.msg, "<Code>RequestBodyTooLarge</Code>"):
			t.Errorf("refused with %d %s, want 413 RequestBodyTooLarge", r.code, r.msg)
		}
	}
	return stored
}
