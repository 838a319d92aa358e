package fakebackend

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"
	"github.com/soak-dev/soak/scenarios"
)

// azureAccountKey is any base64 key: the fake does not check Shared Key.
const azureAccountKey = "c29ha3NlY3JldA=="

func newAzureClient(t *testing.T, url string, tr *http.Transport) *azblob.Client {
	t.Helper()
	cs := fmt.Sprintf("DefaultEndpointsProtocol=http;AccountName=soak;AccountKey=%s;BlobEndpoint=%s/soak;", azureAccountKey, url)
	c, err := azblob.NewClientFromConnectionString(cs, &azblob.ClientOptions{ClientOptions: azcore.ClientOptions{
		Transport: &http.Client{Transport: tr},
		Retry:     policy.RetryOptions{MaxRetries: -1},
	}})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestAzureSDKOperations(t *testing.T) {
	t.Parallel()
	b, _ := startBackend(t, &scenarios.Backend{Kind: "azure", Buckets: []string{"preset"}})
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	c := newAzureClient(t, b.URL(), tr)
	ctx := context.Background()
	if _, err := c.CreateContainer(ctx, "data", nil); err != nil {
		t.Fatalf("create container: %v", err)
	}
	if _, err := c.CreateContainer(ctx, "data", nil); !bloberror.HasCode(err, bloberror.ContainerAlreadyExists) {
		t.Errorf("create twice: %v, want ContainerAlreadyExists", err)
	}
	for _, k := range []string{"a/1", "a/2", "a/3", "b/1", "c"} {
		if _, err := c.UploadBuffer(ctx, "data", k, []byte("hello "+k), nil); err != nil {
			t.Fatalf("put %s: %v", k, err)
		}
	}
	if _, err := c.UploadBuffer(ctx, "preset", "x", []byte("x"), nil); err != nil {
		t.Errorf("configured container missing: %v", err)
	}
	get := func(key string, opts *azblob.DownloadStreamOptions) (string, error) {
		resp, err := c.DownloadStream(ctx, "data", key, opts)
		if err != nil {
			return "", err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		return string(b), err
	}
	if got, err := get("a/2", nil); err != nil || got != "hello a/2" {
		t.Errorf("get = %q, %v", got, err)
	}
	if got, err := get("a/2", &azblob.DownloadStreamOptions{Range: azblob.HTTPRange{Offset: 6, Count: 3}}); err != nil || got != "a/2" {
		t.Errorf("range get = %q, %v", got, err)
	}
	props, err := c.ServiceClient().NewContainerClient("data").NewBlobClient("a/1").GetProperties(ctx, nil)
	if err != nil || props.ContentLength == nil || *props.ContentLength != int64(len("hello a/1")) {
		t.Errorf("properties: %+v, %v", props, err)
	}

	for _, tc := range []struct {
		prefix, delim string
		max           int32
		want          string
	}{
		{"a/", "", 2, "a/1,a/2,a/3"},
		{"", "/", 0, "a/,b/,c"},
		{"", "", 1, "a/1,a/2,a/3,b/1,c"},
	} {
		var got []string
		cc := c.ServiceClient().NewContainerClient("data")
		if tc.delim == "" {
			opts := &container.ListBlobsFlatOptions{Prefix: &tc.prefix}
			if tc.max > 0 {
				opts.MaxResults = &tc.max
			}
			pager := cc.NewListBlobsFlatPager(opts)
			for pager.More() {
				page, err := pager.NextPage(ctx)
				if err != nil {
					t.Fatalf("list %+v: %v", tc, err)
				}
				for _, it := range page.Segment.BlobItems {
					got = append(got, *it.Name)
				}
			}
		} else {
			pager := cc.NewListBlobsHierarchyPager(tc.delim, &container.ListBlobsHierarchyOptions{Prefix: &tc.prefix})
			for pager.More() {
				page, err := pager.NextPage(ctx)
				if err != nil {
					t.Fatalf("list %+v: %v", tc, err)
				}
				for _, it := range page.Segment.BlobItems {
					got = append(got, *it.Name)
				}
				for _, p := range page.Segment.BlobPrefixes {
					got = append(got, *p.Name)
				}
			}
		}
		sort.Strings(got)
		if strings.Join(got, ",") != tc.want {
			t.Errorf("list %+v = %v, want %s", tc, got, tc.want)
		}
	}

	if _, err := c.DeleteBlob(ctx, "data", "c", nil); err != nil {
		t.Fatalf("delete: %v", err)
	}
	if _, err := get("c", nil); !bloberror.HasCode(err, bloberror.BlobNotFound) {
		t.Errorf("get after delete: %v, want BlobNotFound", err)
	}
	if _, err := get("x", nil); err == nil {
		t.Errorf("get of a missing blob succeeded")
	}

	b.SetFaults(&scenarios.Faults{ErrorRate: 1})
	_, err = get("a/1", nil)
	var re *azcore.ResponseError
	if !errors.As(err, &re) || re.ErrorCode != "ServerBusy" || re.StatusCode != 503 {
		t.Errorf("injected error: %v, want 503 ServerBusy", err)
	}
	b.SetFaults(nil)

	small, _ := startBackend(t, &scenarios.Backend{Kind: "azure", Buckets: []string{"cap"}, Objects: &scenarios.Objects{MaxBytes: 10}})
	cs := newAzureClient(t, small.URL(), tr)
	if _, err := cs.UploadBuffer(ctx, "cap", "big", bytes.Repeat([]byte("x"), 11), nil); !bloberror.HasCode(err, bloberror.RequestBodyTooLarge) {
		t.Errorf("over cap: %v, want RequestBodyTooLarge", err)
	}
}
