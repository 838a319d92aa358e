//go:build gcs

package fakebackend

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"

	"cloud.google.com/go/storage"
	"github.com/soak-dev/soak/record"
	"github.com/soak-dev/soak/scenarios"
	"google.golang.org/api/iterator"
	"google.golang.org/api/option"
)

func newGCSClient(t *testing.T, url string, tr *http.Transport) *storage.Client {
	t.Helper()
	c, err := storage.NewClient(context.Background(), option.WithEndpoint(url+"/storage/v1/"),
		option.WithoutAuthentication(), option.WithHTTPClient(&http.Client{Transport: tr}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func TestGCSSDKOperations(t *testing.T) {
	t.Parallel()
	b, sink := startBackend(t, &scenarios.Backend{Kind: "gcs", Buckets: []string{"gdata"}})
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	c := newGCSClient(t, b.URL(), tr)
	ctx := context.Background()
	bkt := c.Bucket("gdata")
	if _, err := bkt.Attrs(ctx); err != nil {
		t.Fatalf("bucket attrs: %v", err)
	}
	putGCSObjects(t, bkt, "a/1", "a/2", "b/1")
	if got := getGCS(t, bkt.Object("a/2"), 0, -1); got != "hello a/2" {
		t.Errorf("get = %q", got)
	}
	if got := getGCS(t, bkt.Object("a/2"), 6, 3); got != "a/2" {
		t.Errorf("range get = %q", got)
	}
	if names, prefixes := listGCS(t, bkt, &storage.Query{Prefix: "a/"}); strings.Join(names, ",") != "a/1,a/2" || len(prefixes) != 0 {
		t.Errorf("list a/ = %v %v", names, prefixes)
	}
	if err := bkt.Object("a/1").Delete(ctx); err != nil {
		t.Fatalf("delete: %v", err)
	}
	if _, err := bkt.Object("a/1").Attrs(ctx); !errors.Is(err, storage.ErrObjectNotExist) {
		t.Errorf("attrs after delete: %v", err)
	}

	b.SetFaults(&scenarios.Faults{ErrorRate: 1, ErrorCode: 500})
	resp, err := (&http.Client{Transport: tr}).Get(b.URL() + "/storage/v1/b/gdata")
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 500 || resp.Header.Get("Content-Type") == "" {
		t.Errorf("injected GCS error: %d", resp.StatusCode)
	}
	b.SetFaults(nil)

	tr.CloseIdleConnections()
	lines := sink.waitLines(t, 1, 3*time.Second)
	if lines[0].ClosedBy != record.ClosedByClient || lines[0].Requests == 0 {
		t.Errorf("GCS ledger line = %+v, want requests, closed by client", lines[0])
	}
}

// TestGCSEmulatorHost drives cloud.google.com/go/storage the way a SUT
// configured with STORAGE_EMULATOR_HOST does (no endpoint option, no
// credentials), naming the backend by IP and by localhost: put (single-shot
// and resumable in chunks), get, range get, list, delete. Not parallel:
// t.Setenv changes the process environment.
func TestGCSEmulatorHost(t *testing.T) {
	for _, host := range []string{"127.0.0.1", "localhost"} {
		t.Run(host, func(t *testing.T) {
			b, sink := startBackend(t, &scenarios.Backend{Kind: "gcs", Buckets: []string{"emu"}})
			_, port, _ := net.SplitHostPort(strings.TrimPrefix(b.URL(), "http://"))
			t.Setenv("STORAGE_EMULATOR_HOST", net.JoinHostPort(host, port))
			tr := &http.Transport{}
			defer tr.CloseIdleConnections()
			ctx := context.Background()
			c, err := storage.NewClient(ctx, option.WithHTTPClient(&http.Client{Transport: tr}))
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			exerciseGCSEmulator(t, c.Bucket("emu"))
			tr.CloseIdleConnections()
			lines := sink.waitLines(t, int(b.Live().Accepted), 3*time.Second)
			var reqs int64
			for _, l := range lines {
				reqs += l.Requests
			}
			if reqs < 10 || reqs != b.Live().Requests {
				t.Errorf("ledger counted %d requests, live %d: want >= 10 and equal (%+v)", reqs, b.Live().Requests, lines)
			}
		})
	}
}

func exerciseGCSEmulator(t *testing.T, bkt *storage.BucketHandle) {
	t.Helper()
	ctx := context.Background()
	if _, err := bkt.Attrs(ctx); err != nil {
		t.Fatalf("bucket attrs: %v", err)
	}
	putGCSObjects(t, bkt, "x/1", "x/2", "y/1")
	// A resumable upload in three chunks: the client follows the Location
	// the backend answers, so it must name a host that reaches it.
	big := bytes.Repeat([]byte("0123456789abcdef"), 40<<10) // 640 KiB
	w := bkt.Object("y/big").NewWriter(ctx)
	w.ChunkSize = 256 << 10
	if _, err := w.Write(big); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatalf("resumable put: %v", err)
	}
	if got := getGCS(t, bkt.Object("x/2"), 0, -1); got != "hello x/2" {
		t.Errorf("get = %q", got)
	}
	if got, want := getGCS(t, bkt.Object("y/big"), 100<<10, 16), string(big[100<<10:100<<10+16]); got != want {
		t.Errorf("range get = %q, want %q", got, want)
	}
	names, prefixes := listGCS(t, bkt, &storage.Query{Delimiter: "/"})
	if len(names) != 0 || strings.Join(prefixes, ",") != "x/,y/" {
		t.Errorf("list with delimiter = %v %v, want prefixes x/ y/", names, prefixes)
	}
	if err := bkt.Object("x/1").Delete(ctx); err != nil {
		t.Fatalf("delete: %v", err)
	}
	if _, err := bkt.Object("x/1").NewReader(ctx); !errors.Is(err, storage.ErrObjectNotExist) {
		t.Errorf("get after delete: %v, want ErrObjectNotExist", err)
	}
}

// putGCSObjects writes "hello KEY" under each key through the real client.
func putGCSObjects(t *testing.T, bkt *storage.BucketHandle, keys ...string) {
	t.Helper()
	for _, k := range keys {
		w := bkt.Object(k).NewWriter(context.Background())
		if _, err := io.WriteString(w, "hello "+k); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatalf("put %s: %v", k, err)
		}
	}
}

// getGCS reads length bytes of obj from offset (length -1: to its end)
// through the real client.
func getGCS(t *testing.T, obj *storage.ObjectHandle, offset, length int64) string {
	t.Helper()
	r, err := obj.NewRangeReader(context.Background(), offset, length)
	if err != nil {
		t.Fatalf("get %s from %d: %v", obj.ObjectName(), offset, err)
	}
	defer r.Close()
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("read %s from %d: %v", obj.ObjectName(), offset, err)
	}
	return string(b)
}

// listGCS lists bkt through the real client and returns the object names
// and the prefixes (with a delimiter) it answered, each sorted.
func listGCS(t *testing.T, bkt *storage.BucketHandle, q *storage.Query) (names, prefixes []string) {
	t.Helper()
	it := bkt.Objects(context.Background(), q)
	for {
		a, err := it.Next()
		if errors.Is(err, iterator.Done) {
			break
		}
		if err != nil {
			t.Fatalf("list: %v", err)
		}
		if a.Prefix != "" {
			prefixes = append(prefixes, a.Prefix)
		} else {
			names = append(names, a.Name)
		}
	}
	sort.Strings(names)
	sort.Strings(prefixes)
	return names, prefixes
}
