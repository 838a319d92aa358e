package fakebackend

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
	"github.com/soak-dev/soak/scenarios"
)

// newS3Client is an SDK client for url with the given transport; retries
// are off so each call is one request and faults are seen as they are.
func newS3Client(url string, tr *http.Transport, ak, sk string) *s3.Client {
	return s3.New(s3.Options{
		BaseEndpoint:     aws.String(url),
		UsePathStyle:     true,
		Region:           DefaultRegion,
		Credentials:      credentials.NewStaticCredentialsProvider(ak, sk, ""),
		HTTPClient:       &http.Client{Transport: tr, Timeout: 10 * time.Second},
		RetryMaxAttempts: 1,
	})
}

func apiCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

// newVirtualHostS3Client is an SDK client that addresses buckets
// virtual-hosted-style under endpoint (e.g. http://localhost:PORT), whose
// transport dials the backend at addr whatever the host, so no DNS is
// needed; hosts records the Host of every request sent.
func newVirtualHostS3Client(endpoint, addr string, tr *http.Transport, hosts *hostLog) *s3.Client {
	tr.DialContext = func(ctx context.Context, network, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, network, addr)
	}
	return s3.New(s3.Options{
		BaseEndpoint:     aws.String(endpoint),
		UsePathStyle:     false,
		Region:           DefaultRegion,
		Credentials:      credentials.NewStaticCredentialsProvider(DefaultAccessKey, DefaultSecretKey, ""),
		HTTPClient:       &http.Client{Transport: hosts.wrap(tr), Timeout: 10 * time.Second},
		RetryMaxAttempts: 1,
	})
}

// hostLog records the Host of each request a client sends.
type hostLog struct {
	mu    sync.Mutex
	hosts map[string]int
}

func (h *hostLog) wrap(rt http.RoundTripper) http.RoundTripper {
	return roundTripFunc(func(r *http.Request) (*http.Response, error) {
		h.mu.Lock()
		if h.hosts == nil {
			h.hosts = map[string]int{}
		}
		h.hosts[r.URL.Hostname()]++
		h.mu.Unlock()
		return rt.RoundTrip(r)
	})
}

func (h *hostLog) count(host string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.hosts[host]
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// TestS3SDKOperations drives every operation soak relies on through
// aws-sdk-go-v2, path-style and virtual-hosted-style, with signatures
// checked; virtual-hosted objects are then read back path-style to prove
// they landed in the bucket the host named.
func TestS3SDKOperations(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		// endpoint is the SDK's BaseEndpoint with PORT for the backend's
		// port; "" is path-style on the backend's URL.
		endpoint string
		bases    []string
		// bucketHost is the host the SDK must have sent object requests to.
		bucketHost string
	}{
		{"path-style", "", nil, ""},
		{"virtual-hosted localhost", "http://localhost:PORT", nil, "data.localhost"},
		{"virtual-hosted s3.localhost", "http://s3.localhost:PORT", nil, "data.s3.localhost"},
		{"virtual-hosted configured base", "http://127.0.0.1.nip.io:PORT", []string{"127.0.0.1.nip.io"}, "data.127.0.0.1.nip.io"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b, sink := startBackend(t, &scenarios.Backend{Kind: "s3", Buckets: []string{"data"}, VerifySignatures: true, VirtualHostBases: tc.bases})
			tr := &http.Transport{}
			defer tr.CloseIdleConnections()
			hosts := &hostLog{}
			c := newS3Client(b.URL(), tr, DefaultAccessKey, DefaultSecretKey)
			if tc.endpoint != "" {
				addr := strings.TrimPrefix(b.URL(), "http://")
				_, port, _ := net.SplitHostPort(addr)
				c = newVirtualHostS3Client(strings.Replace(tc.endpoint, "PORT", port, 1), addr, tr, hosts)
			}
			exerciseS3(t, b, c)
			if tc.bucketHost != "" && hosts.count(tc.bucketHost) < 15 {
				t.Errorf("requests to %s: %d, want every object request (%v)", tc.bucketHost, hosts.count(tc.bucketHost), hosts.hosts)
			}
			if tc.endpoint == "" {
				return
			}
			// The objects are where a path-style client looks for them.
			pc := newS3Client(b.URL(), tr, DefaultAccessKey, DefaultSecretKey)
			out, err := pc.ListObjectsV2(context.Background(), &s3.ListObjectsV2Input{Bucket: aws.String("data")})
			if err != nil {
				t.Fatal(err)
			}
			if got := len(out.Contents); got != 5 {
				t.Errorf("path-style list after virtual-hosted writes: %d objects, want 5 (a/1 a/2 a/3 b/1 big)", got)
			}
			// The shared wrapper still sees every request: faults strike and
			// the ledger counts.
			b.SetFaults(&scenarios.Faults{ErrorRate: 1})
			if _, err := c.GetObject(context.Background(), &s3.GetObjectInput{Bucket: aws.String("data"), Key: aws.String("a/1")}); apiCode(err) != "SlowDown" {
				t.Errorf("injected error through a virtual-hosted request: %v, want SlowDown", err)
			}
			b.SetFaults(nil)
			tr.CloseIdleConnections()
			// Every connection writes its line once the backend has seen it close.
			for deadline := time.Now().Add(3 * time.Second); b.Live().Open > 0 && time.Now().Before(deadline); {
				time.Sleep(10 * time.Millisecond)
			}
			var reqs int64
			for _, l := range sink.waitLines(t, int(b.Live().Accepted), 3*time.Second) {
				reqs += l.Requests
			}
			if live := b.Live(); reqs != live.Requests || live.Errors < 2 {
				t.Errorf("ledger requests %d, live %+v: want them equal and the errors counted", reqs, live)
			}
		})
	}
}

// exerciseS3 runs put, get, range get, list (prefix, delimiter,
// continuation), delete and multipart through c on bucket "data".
func exerciseS3(t *testing.T, b Backend, c *s3.Client) {
	t.Helper()
	ctx := context.Background()

	if _, err := c.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String("data")}); err != nil {
		t.Fatalf("configured bucket missing: %v", err)
	}
	keys := []string{"a/1", "a/2", "a/3", "b/1", "c"}
	for _, k := range keys {
		if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("data"), Key: aws.String(k), Body: strings.NewReader("hello " + k)}); err != nil {
			t.Fatalf("put %s: %v", k, err)
		}
	}
	got, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("data"), Key: aws.String("a/2")})
	if err != nil {
		t.Fatalf("get: %v", err)
	}
	body, _ := io.ReadAll(got.Body)
	got.Body.Close()
	if string(body) != "hello a/2" {
		t.Errorf("get body = %q", body)
	}
	rg, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("data"), Key: aws.String("a/2"), Range: aws.String("bytes=6-8")})
	if err != nil {
		t.Fatalf("range get: %v", err)
	}
	body, _ = io.ReadAll(rg.Body)
	rg.Body.Close()
	if string(body) != "a/2" {
		t.Errorf("range body = %q, want a/2", body)
	}

	for _, tc := range []struct {
		prefix, delim string
		max           int32
		wantKeys      int
		wantPrefixes  int
	}{
		{"a/", "", 2, 3, 0},
		{"", "/", 1000, 1, 2},
		{"", "", 2, 5, 0},
	} {
		var n, np int
		var token *string
		for pages := 0; pages < 10; pages++ {
			in := &s3.ListObjectsV2Input{Bucket: aws.String("data"), MaxKeys: aws.Int32(tc.max), ContinuationToken: token}
			if tc.prefix != "" {
				in.Prefix = aws.String(tc.prefix)
			}
			if tc.delim != "" {
				in.Delimiter = aws.String(tc.delim)
			}
			out, err := c.ListObjectsV2(ctx, in)
			if err != nil {
				t.Fatalf("list %+v: %v", tc, err)
			}
			n += len(out.Contents)
			np += len(out.CommonPrefixes)
			if !aws.ToBool(out.IsTruncated) {
				break
			}
			token = out.NextContinuationToken
		}
		if n != tc.wantKeys || np != tc.wantPrefixes {
			t.Errorf("list prefix=%q delim=%q max=%d: %d keys %d prefixes, want %d %d", tc.prefix, tc.delim, tc.max, n, np, tc.wantKeys, tc.wantPrefixes)
		}
	}

	if _, err := c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String("data"), Key: aws.String("c")}); err != nil {
		t.Fatalf("delete: %v", err)
	}
	if _, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("data"), Key: aws.String("c")}); apiCode(err) != "NoSuchKey" {
		t.Errorf("get after delete: %v, want NoSuchKey", err)
	}

	// Multipart: two parts (the first at S3's 5 MiB minimum), complete, read back.
	mp, err := c.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String("data"), Key: aws.String("big")})
	if err != nil {
		t.Fatalf("create multipart: %v", err)
	}
	part1 := bytes.Repeat([]byte("x"), 5<<20)
	var parts []types.CompletedPart
	for i, p := range [][]byte{part1, []byte("tail")} {
		up, err := c.UploadPart(ctx, &s3.UploadPartInput{Bucket: aws.String("data"), Key: aws.String("big"), UploadId: mp.UploadId,
			PartNumber: aws.Int32(int32(i + 1)), Body: bytes.NewReader(p)})
		if err != nil {
			t.Fatalf("upload part %d: %v", i+1, err)
		}
		parts = append(parts, types.CompletedPart{ETag: up.ETag, PartNumber: aws.Int32(int32(i + 1))})
	}
	if _, err := c.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: aws.String("data"), Key: aws.String("big"), UploadId: mp.UploadId,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: parts}}); err != nil {
		t.Fatalf("complete multipart: %v", err)
	}
	head, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("data"), Key: aws.String("big")})
	if err != nil {
		t.Fatalf("head: %v", err)
	}
	if got, want := aws.ToInt64(head.ContentLength), int64(5<<20+4); got != want {
		t.Errorf("multipart object size = %d, want %d", got, want)
	}
	ab, err := c.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String("data"), Key: aws.String("aborted")})
	if err != nil {
		t.Fatalf("create multipart: %v", err)
	}
	if _, err := c.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{Bucket: aws.String("data"), Key: aws.String("aborted"), UploadId: ab.UploadId}); err != nil {
		t.Errorf("abort multipart: %v", err)
	}
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("fresh")}); err != nil {
		t.Errorf("create bucket: %v", err)
	}
	if _, err := c.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String("fresh")}); err != nil {
		t.Errorf("head created bucket: %v", err)
	}
	lb, err := c.ListBuckets(ctx, &s3.ListBucketsInput{})
	if err != nil {
		t.Fatalf("list buckets: %v", err)
	}
	var names []string
	for _, bk := range lb.Buckets {
		names = append(names, aws.ToString(bk.Name))
	}
	sort.Strings(names) // s3mem lists in map order
	if strings.Join(names, ",") != "data,fresh" {
		t.Errorf("list buckets = %v, want data, fresh", names)
	}
	if b.Live().Requests < 15 {
		t.Errorf("live requests = %d, want >= 15", b.Live().Requests)
	}
}

func TestS3Signatures(t *testing.T) {
	b, _ := startBackend(t, &scenarios.Backend{Kind: "s3", Buckets: []string{"sig"}, VerifySignatures: true, AccessKey: "ak", SecretKey: "sk"})
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	ctx := context.Background()
	for _, tc := range []struct {
		name, ak, sk, want string
	}{
		{"right keys", "ak", "sk", ""},
		{"wrong secret", "ak", "nope", "SignatureDoesNotMatch"},
		{"unknown key", "other", "sk", "InvalidAccessKeyId"},
	} {
		c := newS3Client(b.URL(), tr, tc.ak, tc.sk)
		_, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("sig"), Key: aws.String("k/with space+plus"), Body: strings.NewReader("v")})
		if got := apiCode(err); got != tc.want {
			t.Errorf("%s: code %q (%v), want %q", tc.name, got, err, tc.want)
		}
	}
	resp, err := http.Get(b.URL() + "/sig/k")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("unsigned GET with verification on: %d, want 403", resp.StatusCode)
	}

	// Without verification, unsigned requests are served.
	b2, _ := startBackend(t, &scenarios.Backend{Kind: "s3"})
	req, _ := http.NewRequest(http.MethodPut, b2.URL()+"/free/k", strings.NewReader("v"))
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("unsigned PUT: %d, want 200", resp.StatusCode)
	}
	http.DefaultClient.CloseIdleConnections()
}

func TestS3CapsAndSynthetic(t *testing.T) {
	b, _ := startBackend(t, &scenarios.Backend{Kind: "s3", Buckets: []string{"cap"}, Objects: &scenarios.Objects{
		MaxBytes: 1000, MaxCount: 3,
		Synthetic: []*scenarios.Synthetic{{Prefix: "gen/", Size: 100000}},
	}})
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	c := newS3Client(b.URL(), tr, DefaultAccessKey, DefaultSecretKey)
	ctx := context.Background()
	put := func(k string, n int) error {
		_, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("cap"), Key: aws.String(k), Body: bytes.NewReader(make([]byte, n))})
		return err
	}
	if err := put("big", 2000); apiCode(err) != "EntityTooLarge" {
		t.Errorf("over byte cap: %v, want EntityTooLarge", err)
	}
	for i := range 3 {
		if err := put(fmt.Sprint(i), 10); err != nil {
			t.Fatalf("put %d: %v", i, err)
		}
	}
	if err := put("fourth", 10); apiCode(err) != "EntityTooLarge" {
		t.Errorf("over count cap: %v, want EntityTooLarge", err)
	}
	if err := put("0", 20); err != nil {
		t.Errorf("overwrite within caps: %v", err)
	}
	if _, err := c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String("cap"), Key: aws.String("1")}); err != nil {
		t.Fatal(err)
	}
	if err := put("fourth", 10); err != nil {
		t.Errorf("put after delete freed a slot: %v", err)
	}

	out, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("cap"), Key: aws.String("gen/x"), Range: aws.String("bytes=99990-99999")})
	if err != nil {
		t.Fatalf("synthetic range get: %v", err)
	}
	got, _ := io.ReadAll(out.Body)
	out.Body.Close()
	if want := SyntheticBytes("gen/x", 99990, 10); !bytes.Equal(got, want) {
		t.Errorf("synthetic range = %x, want %x", got, want)
	}
	full, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("cap"), Key: aws.String("gen/x")})
	if err != nil {
		t.Fatalf("synthetic get: %v", err)
	}
	all, _ := io.ReadAll(full.Body)
	full.Body.Close()
	// Real S3 always sends Last-Modified and ETag; some clients dereference
	// them unchecked.
	head, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("cap"), Key: aws.String("gen/x")})
	if err != nil {
		t.Fatalf("synthetic head: %v", err)
	}
	for _, h := range []struct {
		op       string
		modified *time.Time
		etag     *string
	}{{"GET", full.LastModified, full.ETag}, {"HEAD", head.LastModified, head.ETag}} {
		if h.modified == nil || h.modified.IsZero() || time.Since(*h.modified) > time.Hour || h.etag == nil || len(*h.etag) != 34 {
			t.Errorf("synthetic %s: Last-Modified %v, ETag %v; want both, like real S3", h.op, h.modified, h.etag)
		}
	}
	if *full.ETag != *head.ETag || !full.LastModified.Equal(*head.LastModified) {
		t.Errorf("GET and HEAD of one synthetic object differ: %s %v, %s %v", *full.ETag, full.LastModified, *head.ETag, head.LastModified)
	}
	if len(all) != 100000 || !bytes.Equal(all[99990:], got) {
		t.Errorf("synthetic object: %d bytes, tail consistent %v", len(all), len(all) == 100000 && bytes.Equal(all[99990:], got))
	}
	if _, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("cap"), Key: aws.String("other")}); apiCode(err) != "NoSuchKey" {
		t.Errorf("non-synthetic missing key: %v", err)
	}
}

// TestS3HostBucket pins the rule that tells virtual-hosted-style requests
// from path-style ones.
func TestS3HostBucket(t *testing.T) {
	t.Parallel()
	pr, err := newS3Proto(&scenarios.Backend{Kind: "s3", VirtualHostBases: []string{"127.0.0.1.nip.io", "S3.Example.Test."}})
	if err != nil {
		t.Fatal(err)
	}
	p := pr.(*s3Proto)
	for _, tc := range []struct {
		host, want string
	}{
		{"data.localhost:9000", "data"},
		{"data.localhost", "data"},
		{"DATA.LOCALHOST.", "data"},
		{"data.s3.localhost:9000", "data"},
		{"data.s3.us-east-1.localhost", "data"},
		{"data.127.0.0.1.nip.io:9000", "data"},
		{"logs-2024.s3.example.test", "logs-2024"},
		{"data.sub.s3.example.test", "data"},
		// Path-style: the backend itself, by any name.
		{"127.0.0.1:9000", ""},
		{"[::1]:9000", ""},
		{"localhost:9000", ""},
		{"s3.localhost:9000", ""},     // "s3" is too short for a bucket
		{"127.0.0.1.nip.io:9000", ""}, // the base itself
		{"s3.example.test", ""},       // the base itself
		{"my_bucket.localhost", ""},   // not a bucket name
		{"data.s3.amazonaws.com", ""}, // not a base
		{"fake-s3.soak.svc.cluster.local", ""},
		{"", ""},
	} {
		got, ok := p.hostBucket(tc.host)
		if got != tc.want || ok != (tc.want != "") {
			t.Errorf("hostBucket(%q) = %q, %v; want %q", tc.host, got, ok, tc.want)
		}
	}
	if _, err := newS3Proto(&scenarios.Backend{Kind: "s3", VirtualHostBases: []string{"http://x:1"}}); err == nil {
		t.Errorf("a base with scheme and port: no error")
	}
}
