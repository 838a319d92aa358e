package load

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"sync"
	"time"
)

// rawRequest is one HTTP/1.1 request written by hand on a raw connection,
// for the phases vegeta cannot do.
type rawRequest struct {
	method string
	u      *url.URL
}

func parseRawTarget(method, target string) (rawRequest, error) {
	u, err := url.Parse(target)
	if err != nil || u.Host == "" {
		return rawRequest{}, fmt.Errorf("target %q is not an http URL", target)
	}
	if u.Scheme != "http" {
		return rawRequest{}, fmt.Errorf("target %q: only http:// is supported here", target)
	}
	return rawRequest{method: method, u: u}, nil
}

// addr is host:port to dial.
func (r rawRequest) addr() string {
	if r.u.Port() != "" {
		return r.u.Host
	}
	return net.JoinHostPort(r.u.Hostname(), "80")
}

// head returns the request line and headers; final ends them with the blank line.
func (r rawRequest) head(extra map[string]string, final bool) []byte {
	b := fmt.Appendf(nil, "%s %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: soak\r\n", r.method, r.u.RequestURI(), r.u.Host)
	keys := make([]string, 0, len(extra))
	for k := range extra {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		b = fmt.Appendf(b, "%s: %s\r\n", k, extra[k])
	}
	if final {
		b = append(b, "\r\n"...)
	}
	return b
}

// readerPool keeps response readers only while a response is read, so a
// held connection costs no buffer.
var readerPool = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, 4096) }}

// roundTrip writes req on c and reads the whole response within timeout.
// It returns the status code.
func roundTrip(c net.Conn, req []byte, method string, timeout time.Duration) (int, error) {
	c.SetDeadline(time.Now().Add(timeout))
	defer c.SetDeadline(time.Time{})
	if _, err := c.Write(req); err != nil {
		return 0, err
	}
	br := readerPool.Get().(*bufio.Reader)
	br.Reset(c)
	defer func() { br.Reset(nil); readerPool.Put(br) }()
	resp, err := http.ReadResponse(br, &http.Request{Method: method})
	if err != nil {
		return 0, err
	}
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, err
}

func sortFloats(f []float64) { sort.Float64s(f) }

func itoa(n int) string { return strconv.Itoa(n) }
