package fakebackend

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"sort"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/soak-dev/soak/scenarios"
)

// The fake S3 refuses bucket names real S3 refuses (400 InvalidBucketName)
// instead of auto-creating them, and still auto-creates valid ones.
func TestS3InvalidBucketName(t *testing.T) {
	t.Parallel()
	b, _ := startBackend(t, &scenarios.Backend{Kind: "s3", Buckets: []string{"data"}})
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr}
	for _, tc := range []struct {
		method, path string
		status       int
		code         string
	}{
		{"PUT", "/Bad_Bucket/k", 400, "InvalidBucketName"},
		{"PUT", "/b0/k", 400, "InvalidBucketName"},
		{"GET", "/Bad_Bucket/k", 400, "InvalidBucketName"},
		{"PUT", "/Bad_Bucket", 400, "InvalidBucketName"},
		{"PUT", "/auto-made/k", 200, ""},
		{"GET", "/auto-made/k", 200, ""},
		{"GET", "/data/missing", 404, "NoSuchKey"},
	} {
		req, err := http.NewRequest(tc.method, b.URL()+tc.path, strings.NewReader("x"))
		if err != nil {
			t.Fatal(err)
		}
		if tc.method == "GET" {
			req.Body, req.ContentLength = nil, 0
		}
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", tc.method, tc.path, err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.status || !bytes.Contains(body, []byte(tc.code)) {
			t.Errorf("%s %s: %d %s, want %d %s", tc.method, tc.path, resp.StatusCode, body, tc.status, tc.code)
		}
	}
	// Nothing was created under the refused names.
	c := newS3Client(b.URL(), tr, DefaultAccessKey, DefaultSecretKey)
	out, err := c.ListBuckets(context.Background(), &s3.ListBucketsInput{})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, bk := range out.Buckets {
		names = append(names, aws.ToString(bk.Name))
	}
	sort.Strings(names)
	if got := strings.Join(names, ","); got != "auto-made,data" {
		t.Errorf("buckets = %s, want auto-made,data", got)
	}
	if _, err := c.PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String("Bad_Bucket"), Key: aws.String("k"), Body: strings.NewReader("x")}); apiCode(err) != "InvalidBucketName" {
		t.Errorf("SDK PutObject to Bad_Bucket: %v, want InvalidBucketName", err)
	}
}
