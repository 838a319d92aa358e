package fakebackend

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/soak-dev/soak/scenarios"
)

// capMiB is the objects.max_bytes the cap tests configure: small, so they
// show the limit holds without using much memory.
const capMiB = 1 << 20

// TestS3MultipartPartsCounted: parts of a multipart upload were held in
// memory uncounted (6 parts of 200 MiB under a 256 MiB cap: RSS 1.9 GB).
// Here 400 KiB parts under a 1 MiB cap: the third is refused; aborting
// frees them; a completed upload counts as its object.
func TestS3MultipartPartsCounted(t *testing.T) {
	t.Parallel()
	b, _ := startBackend(t, &scenarios.Backend{Kind: "s3", Buckets: []string{"cap"}, Objects: &scenarios.Objects{MaxBytes: capMiB}})
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	c := newS3Client(b.URL(), tr, DefaultAccessKey, DefaultSecretKey)
	ctx := context.Background()
	part := make([]byte, 400<<10)
	upload := func(key string, n int) (string, []types.CompletedPart, error) {
		mu, err := c.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String("cap"), Key: aws.String(key)})
		if err != nil {
			t.Fatal(err)
		}
		var done []types.CompletedPart
		for i := 1; i <= n; i++ {
			out, err := c.UploadPart(ctx, &s3.UploadPartInput{Bucket: aws.String("cap"), Key: aws.String(key), UploadId: mu.UploadId,
				PartNumber: aws.Int32(int32(i)), Body: bytes.NewReader(part)})
			if err != nil {
				return *mu.UploadId, done, fmt.Errorf("part %d: %w", i, err)
			}
			done = append(done, types.CompletedPart{ETag: out.ETag, PartNumber: aws.Int32(int32(i))})
		}
		return *mu.UploadId, done, nil
	}
	id, _, err := upload("big", 3)
	if apiCode(err) != "EntityTooLarge" {
		t.Fatalf("3 x 400 KiB parts under a 1 MiB cap: %v, want EntityTooLarge on part 3", err)
	}
	if _, err := c.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{Bucket: aws.String("cap"), Key: aws.String("big"), UploadId: &id}); err != nil {
		t.Fatal(err)
	}
	id, parts, err := upload("two", 2)
	if err != nil {
		t.Fatalf("after the abort freed its parts: %v", err)
	}
	if _, err := c.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: aws.String("cap"), Key: aws.String("two"), UploadId: &id,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: parts}}); err != nil {
		t.Fatal(err)
	}
	_, err = c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("cap"), Key: aws.String("more"), Body: bytes.NewReader(part)})
	if apiCode(err) != "EntityTooLarge" {
		t.Errorf("400 KiB more beside an 800 KiB object: %v, want EntityTooLarge", err)
	}
}

// TestS3XMLBodyBounded: a 1 GiB chunked CompleteMultipartUpload body was
// read whole (RSS 6 GB). Here 3 MiB, streamed, never allocated by the test.
func TestS3XMLBodyBounded(t *testing.T) {
	t.Parallel()
	b, _ := startBackend(t, &scenarios.Backend{Kind: "s3", Buckets: []string{"cap"}})
	for _, chunked := range []bool{true, false} {
		// One 3 MiB text token: what an XML decoder holds whole.
		body := io.MultiReader(strings.NewReader("<CompleteMultipartUpload><Part><ETag>"), io.LimitReader(filler{}, 3<<20))
		req, err := http.NewRequest(http.MethodPost, b.URL()+"/cap/k?uploadId=1", body)
		if err != nil {
			t.Fatal(err)
		}
		if !chunked {
			req.ContentLength = 3<<20 + 37
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(msg), "<Code>MaxMessageLengthExceeded</Code>") {
			t.Errorf("chunked %v: %s %s, want 400 MaxMessageLengthExceeded", chunked, resp.Status, msg)
		}
	}
}

// filler reads as endless 'A's.
type filler struct{}

func (filler) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = 'A'
	}
	return len(p), nil
}

// TestAzureConcurrentUploadsCapped: the cap was checked, not reserved,
// before a body was read, so uploads that each fit alone were all taken
// at once. Four 400 KiB uploads under a 1 MiB cap start together and send
// their bodies only once the backend has refused two (or after 3 s): at
// most two may be stored.
func TestAzureConcurrentUploadsCapped(t *testing.T) {
	t.Parallel()
	b, _ := startBackend(t, &scenarios.Backend{Kind: "azure", Buckets: []string{"cap"}, Objects: &scenarios.Objects{MaxBytes: capMiB}})
	const n, size = 4, 400 << 10
	if stored := concurrentAzureUploads(t, b, "cap", n, size, n-2); stored > 2 {
		t.Errorf("%d uploads of 400 KiB stored under a 1 MiB cap", stored)
	}
}
