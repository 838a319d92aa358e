package fakebackend

import (
	"bufio"
	"context"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/soak-dev/soak/scenarios"
)

// malformedRequests are raw bytes sent on a fresh TCP connection; each must
// get an S3 error or a 4xx (or, for a truncated request, a closed
// connection), never a 5xx, a panic or a hang. Shared with the fuzz seeds.
var malformedRequests = []struct {
	name, raw string
	// wantStatus is the status wanted; 0: any 4xx or no response at all.
	wantStatus int
}{
	{"bad XML in CompleteMultipartUpload", "POST /bad/obj?uploadId=1 HTTP/1.1\r\nHost: x\r\nContent-Length: 9\r\n\r\n<garbage>", 0},
	{"bad range", "GET /bad/obj HTTP/1.1\r\nHost: x\r\nRange: bytes=z-q\r\n\r\n", 0},
	{"absurd range", "GET /bad/obj HTTP/1.1\r\nHost: x\r\nRange: bytes=99999999999999999999-\r\n\r\n", 0},
	{"PUT without Content-Length", "PUT /bad/chunked HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n", 0},
	{"absurd Content-Length", "PUT /bad/huge HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999\r\n\r\n", http.StatusBadRequest},
	{"path traversal", "PUT /bad/../../etc/passwd HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n\r\nx", 0},
	{"invalid bucket name", "PUT /Not_A..Bucket HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n", http.StatusBadRequest},
	{"truncated body", "PUT /bad/short HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nonly ten b", 0},
	{"garbage instead of HTTP", "\x00\x01\x02 garbage \xff\r\n\r\n", http.StatusBadRequest},
	{"bad percent escape", "GET /bad/%zz HTTP/1.1\r\nHost: x\r\n\r\n", http.StatusBadRequest},
	{"multipart part with no upload", "PUT /bad/obj?uploadId=nope&partNumber=1 HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n\r\nx", 0},
}

func TestMalformedRequests(t *testing.T) {
	t.Parallel()
	b, sink := startBackend(t, &scenarios.Backend{Kind: "s3", Buckets: []string{"bad"}})
	for _, tc := range malformedRequests {
		conn, err := net.Dial("tcp", strings.TrimPrefix(b.URL(), "http://"))
		if err != nil {
			t.Fatal(err)
		}
		_ = conn.SetDeadline(time.Now().Add(3 * time.Second))
		if _, err := conn.Write([]byte(tc.raw)); err != nil {
			t.Fatal(err)
		}
		_ = conn.(*net.TCPConn).CloseWrite() // truncated: the client stops sending
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		conn.Close()
		if resp != nil {
			t.Logf("%s: %s", tc.name, resp.Status)
		}
		switch {
		case err != nil && tc.wantStatus != 0:
			t.Errorf("%s: no response (%v), want %d", tc.name, err, tc.wantStatus)
		case err != nil:
			// A closed connection is a fair answer to a request cut short.
		case tc.wantStatus != 0 && resp.StatusCode != tc.wantStatus:
			t.Errorf("%s: status %d, want %d", tc.name, resp.StatusCode, tc.wantStatus)
		case resp.StatusCode >= 500:
			t.Errorf("%s: status %d, want a client error", tc.name, resp.StatusCode)
		}
	}
	if err := b.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got, want := len(sink.lines()), len(malformedRequests); got != want {
		t.Errorf("ledger lines = %d, want one per connection (%d)", got, want)
	}
	if live := b.Live(); live.Malformed < 1 || live.Errors < 3 {
		t.Errorf("live counts %+v: want malformed connections and error responses counted", live)
	}
}
