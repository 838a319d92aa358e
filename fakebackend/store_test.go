package fakebackend

import (
	"bytes"
	"io"
	"testing"
)

// TestSyntheticBytesConsistent checks that any window of a synthetic object
// equals the same window of the whole, whatever the read sizes.
func TestSyntheticBytesConsistent(t *testing.T) {
	whole := SyntheticBytes("k", 0, 1000)
	if bytes.Equal(whole[:8], whole[8:16]) || bytes.Equal(whole, SyntheticBytes("other", 0, 1000)) {
		t.Fatalf("synthetic bytes do not depend on offset and key")
	}
	for _, tc := range []struct{ off, n int64 }{{0, 1}, {3, 5}, {7, 9}, {990, 10}, {13, 400}} {
		if got := SyntheticBytes("k", tc.off, tc.n); !bytes.Equal(got, whole[tc.off:tc.off+tc.n]) {
			t.Errorf("window %d+%d differs", tc.off, tc.n)
		}
	}
	r := &synthReader{seed: 42, off: 5, end: 105}
	var got []byte
	buf := make([]byte, 3)
	for {
		n, err := r.Read(buf)
		got = append(got, buf[:n]...)
		if err == io.EOF {
			break
		}
	}
	all, _ := io.ReadAll(&synthReader{seed: 42, off: 5, end: 105})
	if len(got) != 100 || !bytes.Equal(got, all) {
		t.Errorf("small reads gave %d bytes, differing from one read", len(got))
	}
}
