package fakebackend

import (
	"bufio"
	"context"
	"encoding/xml"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/soak-dev/soak/scenarios"
)

// uploadIDMark in a malformed request is replaced by the id of a multipart
// upload created first, so the request reaches the part of gofakes3 that
// parses what follows.
const uploadIDMark = "UPLOADID"

// malformedRequests are raw bytes sent on a fresh TCP connection; each must
// get an S3 error or a 4xx (or, for a truncated request, a closed
// connection), never a 5xx, a panic or a hang. Shared with the fuzz seeds.
var malformedRequests = []struct {
	name, raw string
	// wantStatus is the status wanted; 0: any 4xx or no response at all.
	wantStatus int
}{
	{"bad XML in CompleteMultipartUpload", "POST /bad/obj?uploadId=" + uploadIDMark + " HTTP/1.1\r\nHost: x\r\nContent-Length: 9\r\n\r\n<garbage>", http.StatusBadRequest},
	{"CompleteMultipartUpload of an unknown upload", "POST /bad/obj?uploadId=1 HTTP/1.1\r\nHost: x\r\nContent-Length: 9\r\n\r\n<garbage>", 0},
	{"CompleteMultipartUpload naming absent parts", "POST /bad/obj?uploadId=" + uploadIDMark + " HTTP/1.1\r\nHost: x\r\nContent-Length: 106\r\n\r\n<CompleteMultipartUpload><Part><PartNumber>7</PartNumber><ETag>\"x\"</ETag></Part></CompleteMultipartUpload>", http.StatusBadRequest},
	{"bad range", "GET /bad/obj HTTP/1.1\r\nHost: x\r\nRange: bytes=z-q\r\n\r\n", 0},
	{"absurd range", "GET /bad/obj HTTP/1.1\r\nHost: x\r\nRange: bytes=99999999999999999999-\r\n\r\n", 0},
	{"PUT without Content-Length", "PUT /bad/chunked HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n", http.StatusLengthRequired},
	{"PUT with no length and no body", "PUT /bad/empty HTTP/1.1\r\nHost: x\r\n\r\n", http.StatusLengthRequired},
	{"part PUT without Content-Length", "PUT /bad/obj?uploadId=" + uploadIDMark + "&partNumber=1 HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nx\r\n0\r\n\r\n", http.StatusLengthRequired},
	{"absurd Content-Length", "PUT /bad/huge HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999\r\n\r\n", http.StatusBadRequest},
	{"absurd decoded length", "PUT /bad/huge2 HTTP/1.1\r\nHost: x\r\nX-Amz-Decoded-Content-Length: 99999999999999\r\nContent-Length: 1\r\n\r\nx", http.StatusBadRequest},
	{"absurd part number", "PUT /bad/obj?uploadId=" + uploadIDMark + "&partNumber=99999999999 HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n\r\nx", http.StatusBadRequest},
	{"absurd max-keys", "GET /bad?list-type=2&max-keys=99999999999999999999 HTTP/1.1\r\nHost: x\r\n\r\n", 0},
	{"path traversal", "PUT /bad/../../etc/passwd HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n\r\nx", http.StatusOK},
	{"invalid bucket name", "PUT /Not_A..Bucket HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n", http.StatusBadRequest},
	{"bucket name formatted as an IP", "PUT /192.168.1.1 HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n", http.StatusBadRequest},
	{"bucket name too long", "PUT /" + strings.Repeat("b", 64) + " HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n", http.StatusBadRequest},
	{"truncated body", "PUT /bad/short HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nonly ten b", 0},
	{"truncated CompleteMultipartUpload body", "POST /bad/obj?uploadId=" + uploadIDMark + " HTTP/1.1\r\nHost: x\r\nContent-Length: 200\r\n\r\n<CompleteMultipartUpload><Part>", http.StatusBadRequest},
	{"truncated multi-delete body", "POST /bad?delete HTTP/1.1\r\nHost: x\r\nContent-Length: 200\r\n\r\n<Delete><Object><Key>a</Key>", http.StatusBadRequest},
	{"truncated chunked body", "PUT /bad/chunky HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nX-Amz-Decoded-Content-Length: 5\r\n\r\nhel", 0},
	{"truncated headers", "GET /bad/obj HTTP/1.1\r\nHost: x\r\nRan", 0},
	{"garbage instead of HTTP", "\x00\x01\x02 garbage \xff\r\n\r\n", http.StatusBadRequest},
	{"TLS hello to the HTTP port", "\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03", 0},
	{"bad percent escape", "GET /bad/%zz HTTP/1.1\r\nHost: x\r\n\r\n", http.StatusBadRequest},
	{"multipart part with no upload", "PUT /bad/obj?uploadId=nope&partNumber=1 HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n\r\nx", 0},
}

// TestMalformedRequests sends each malformed request on its own connection
// to its own backend and checks the answer and the ledger: one line for the
// connection, and the request counted either as an error response (the
// handler saw it) or as a malformed connection (net/http refused it).
// goleak (TestMain) checks that nothing is left running.
func TestMalformedRequests(t *testing.T) {
	t.Parallel()
	for _, tc := range malformedRequests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b, sink := startBackend(t, &scenarios.Backend{Kind: "s3", Buckets: []string{"bad"}})
			raw := tc.raw
			setupConns := 0
			if strings.Contains(raw, uploadIDMark) {
				raw = strings.ReplaceAll(raw, uploadIDMark, createUpload(t, b.URL(), "/bad/obj"))
				setupConns = 1
			}
			conn, err := net.Dial("tcp", strings.TrimPrefix(b.URL(), "http://"))
			if err != nil {
				t.Fatal(err)
			}
			_ = conn.SetDeadline(time.Now().Add(3 * time.Second))
			if _, err := conn.Write([]byte(raw)); err != nil {
				t.Fatal(err)
			}
			_ = conn.(*net.TCPConn).CloseWrite() // truncated: the client stops sending
			resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
			conn.Close()
			status := 0
			if resp != nil {
				status = resp.StatusCode
				t.Logf("%s", resp.Status)
			}
			switch {
			case err != nil && tc.wantStatus != 0:
				t.Errorf("no response (%v), want %d", err, tc.wantStatus)
			case err != nil:
				// A closed connection is a fair answer to a request cut short.
			case tc.wantStatus != 0 && status != tc.wantStatus:
				t.Errorf("status %d, want %d", status, tc.wantStatus)
			case tc.wantStatus == 0 && (status < 400 || status >= 500):
				t.Errorf("status %d, want a client error", status)
			}
			if err := b.Close(context.Background()); err != nil {
				t.Fatal(err)
			}
			lines := sink.lines()
			if got, want := len(lines), 1+setupConns; got != want {
				t.Fatalf("ledger lines = %d, want one per connection (%d): %+v", got, want, lines)
			}
			l := lines[len(lines)-1]
			if l.BytesIn == 0 {
				t.Errorf("ledger line %+v: no bytes in", l)
			}
			live := b.Live()
			switch {
			case l.Requests == 0 && live.Malformed != 1:
				t.Errorf("net/http refused the request but malformed = %d, want 1 (%+v)", live.Malformed, live)
			case l.Requests == 1 && status >= 400 && live.Errors != 1:
				t.Errorf("handler answered %d but errors = %d, want 1 (%+v)", status, live.Errors, live)
			case l.Requests > 1:
				t.Errorf("ledger line %+v: %d requests on a one-request connection", l, l.Requests)
			}
		})
	}
}

// createUpload starts a multipart upload of path and returns its id.
func createUpload(t *testing.T, url, path string) string {
	t.Helper()
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr}).Post(url+path+"?uploads", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct{ UploadId string }
	body, _ := io.ReadAll(resp.Body)
	if err := xml.Unmarshal(body, &out); err != nil || out.UploadId == "" {
		t.Fatalf("create multipart upload: %d %s (%v)", resp.StatusCode, body, err)
	}
	return out.UploadId
}

// TestPathTraversalKeyIsOpaque checks that a key with ../ is stored and
// read back as is, under its bucket, and reaches no file.
func TestPathTraversalKeyIsOpaque(t *testing.T) {
	t.Parallel()
	b, _ := startBackend(t, &scenarios.Backend{Kind: "s3", Buckets: []string{"bad"}})
	for _, path := range []string{"/bad/../../etc/passwd", "/bad/..%2F..%2Fetc%2Fhosts"} {
		conn, err := net.Dial("tcp", strings.TrimPrefix(b.URL(), "http://"))
		if err != nil {
			t.Fatal(err)
		}
		_ = conn.SetDeadline(time.Now().Add(3 * time.Second))
		br := bufio.NewReader(conn)
		roundTrip := func(raw string) (int, string) {
			if _, err := conn.Write([]byte(raw)); err != nil {
				t.Fatal(err)
			}
			resp, err := http.ReadResponse(br, nil)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			return resp.StatusCode, string(body)
		}
		if st, body := roundTrip("PUT " + path + " HTTP/1.1\r\nHost: x\r\nContent-Length: 6\r\n\r\nsecret"); st != http.StatusOK {
			t.Errorf("PUT %s: %d %s", path, st, body)
		}
		if st, body := roundTrip("GET " + path + " HTTP/1.1\r\nHost: x\r\n\r\n"); st != http.StatusOK || body != "secret" {
			t.Errorf("GET %s: %d %q, want the object back", path, st, body)
		}
		conn.Close()
	}
	resp, err := http.Get(b.URL() + "/bad?list-type=2")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	http.DefaultClient.CloseIdleConnections()
	for _, key := range []string{"<Key>../../etc/passwd</Key>", "<Key>../../etc/hosts</Key>"} {
		if !strings.Contains(string(body), key) {
			t.Errorf("listing %s: no %s", body, key)
		}
	}
}
