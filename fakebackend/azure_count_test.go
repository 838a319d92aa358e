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
		req, err := http.NewRequest(http.MethodPut, fmt.Sprintf("%s/soak/cnt/blob%d", b.URL(), i), pr)
		if err != nil {
			t.Fatal(err)
		}
		req.ContentLength = 16
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
	var got []result
	timeout := time.After(3 * time.Second)
wait:
	for len(got) < n-maxCount {
		select {
		case r := <-results:
			got = append(got, r)
		case <-timeout:
			break wait
		}
	}
	for _, pw := range writers {
		go func() { _, _ = pw.Write(make([]byte, 16)); pw.Close() }()
	}
	for len(got) < n {
		got = append(got, <-results)
	}
	stored := 0
	for _, r := range got {
		switch {
		case r.code == http.StatusCreated:
			stored++
		case r.code != http.StatusRequestEntityTooLarge || !strings.Contains(r.msg, "<Code>RequestBodyTooLarge</Code>"):
			t.Errorf("refused with %d %s, want 413 RequestBodyTooLarge", r.code, r.msg)
		}
	}
	if stored != maxCount {
		t.Errorf("%d of %d concurrent uploads stored under max_count %d, want exactly %d", stored, n, maxCount, maxCount)
	}
}
