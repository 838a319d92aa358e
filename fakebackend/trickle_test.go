package fakebackend

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/soak-dev/soak/record"
)

// TestTrickleBodyIsCut: a body sent a byte at a time, each byte before the
// per-read timeout, was never cut. With a floor of 100 bytes per 1 s window
// (short limits set here), a real client trickling 10 bytes/s is closed,
// and the ledger says closed_by timeout with the bytes it read; a client
// at 2,500 bytes/s is not cut and gets its answer.
func TestTrickleBodyIsCut(t *testing.T) {
	t.Parallel()
	const bodyLen = 1000
	for _, tc := range []struct {
		name      string
		chunk     int
		every     time.Duration
		wantCut   bool
		wantReply string
	}{
		{"trickle 10 B/s", 1, 100 * time.Millisecond, true, ""},
		{"steady 2500 B/s", 50, 20 * time.Millisecond, false, "HTTP/1.1 2"},
	} {
		tune := func(s *server) {
			s.bodyIdleTimeout, s.bodyMinRate, s.bodyRateWindow = 500*time.Millisecond, 100, time.Second
		}
		forEachKind(t, tc.name, tune, func(t *testing.T, kind string, s *server, sink *memSink) {
			c, err := net.Dial("tcp", s.ln.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			req := map[string]string{"s3": "PUT /bkt/k", "azure": "PUT /soak/bkt/k",
				"gcs": "POST /upload/storage/v1/b/bkt/o?uploadType=media&name=k"}[kind]
			head := fmt.Sprintf("%s HTTP/1.1\r\nHost: 127.0.0.1\r\nx-ms-blob-type: BlockBlob\r\nContent-Length: %d\r\nConnection: close\r\n\r\n", req, bodyLen)
			if _, err := io.WriteString(c, head); err != nil {
				t.Fatal(err)
			}
			// The client sends its body at its pace until done, cut, or
			// 10 s (a bound so a regression fails instead of hanging).
			stop := make(chan struct{})
			sent := make(chan int, 1)
			go func() {
				n := 0
				tick := time.NewTicker(tc.every)
				defer tick.Stop()
				for n < bodyLen {
					select {
					case <-stop:
						sent <- n
						return
					case <-tick.C:
					}
					w, err := c.Write([]byte(strings.Repeat("x", min(tc.chunk, bodyLen-n))))
					n += w
					if err != nil {
						break
					}
				}
				sent <- n
			}()
			_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
			reply, err := io.ReadAll(c)
			close(stop)
			n := <-sent
			c.Close()
			if errors.Is(err, os.ErrDeadlineExceeded) {
				t.Errorf("%s: %s body still held after 10 s (%d of %d bytes sent)", kind, tc.name, n, bodyLen)
			}
			if tc.wantReply != "" && !strings.HasPrefix(string(reply), tc.wantReply) {
				t.Errorf("%s: %s answered %.60q (%v), want %q...", kind, tc.name, reply, err, tc.wantReply)
			}
			lines := sink.waitLines(t, 1, 10*time.Second)
			got := lines[0]
			cut := got.ClosedBy == record.ClosedByTimeout
			if cut != tc.wantCut {
				t.Errorf("%s: %s: ledger says closed_by %q; want cut %v", kind, tc.name, got.ClosedBy, tc.wantCut)
			}
			if cut && (got.BytesIn <= int64(len(head)) || got.BytesIn > int64(len(head)+n)) {
				t.Errorf("%s: ledger bytes_in %d, want the headers (%d) and some of the %d body bytes sent", kind, got.BytesIn, len(head), n)
			}
		})
	}
}
