package fakebackend

import (
	"bytes"
	"net/http"
	"sync"
	"testing"

	"github.com/soak-dev/soak/scenarios"
)

// TestS3SameKeyPutsCountedOnce: concurrent PUTs of one new key each saw it
// absent and each counted it, so the store's bytes and count drifted up for
// good (20 rounds of 8 such PUTs and a DELETE left it believing it held 5
// objects and 500,000 bytes while holding none) and, in a long soak, it
// refused uploads it had room for. Here 30 rounds under a 1 MiB cap, then a
// 900 KB upload must still fit and the store must count nothing left.
func TestS3SameKeyPutsCountedOnce(t *testing.T) {
	t.Parallel()
	b, _ := startBackend(t, &scenarios.Backend{Kind: "s3", Buckets: []string{"bkt"}, Objects: &scenarios.Objects{MaxBytes: capMiB}})
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	c := &http.Client{Transport: tr}
	do := func(method, key string, n int) int {
		req, err := http.NewRequest(method, b.URL()+"/bkt/"+key, bytes.NewReader(make([]byte, n)))
		if err != nil {
			t.Error(err)
			return 0
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Error(err)
			return 0
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	for range 30 {
		var wg sync.WaitGroup
		for range 8 {
			wg.Add(1)
			go func() { defer wg.Done(); do(http.MethodPut, "same", 100_000) }()
		}
		wg.Wait()
		do(http.MethodDelete, "same", 0)
	}
	st := b.(*server).proto.(*s3Proto).store
	st.mu.Lock()
	count, held := st.count, st.bytes
	st.mu.Unlock()
	if count != 0 || held != 0 {
		t.Errorf("after deleting the only key the store counts %d objects, %d bytes; want 0, 0", count, held)
	}
	if code := do(http.MethodPut, "big", 900_000); code != http.StatusOK {
		t.Errorf("900 KB into an empty store under a 1 MiB cap: %d, want 200", code)
	}
}
