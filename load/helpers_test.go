package load

import (
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/soak-dev/soak/record"
)

func TestMain(m *testing.M) {
	if os.Getenv(helperEnv) != "" {
		helperServer() // a separate SUT process for the RSS measurement
		return
	}
	goleak.VerifyTestMain(m)
}

// memSink keeps what a phase writes.
type memSink struct{ record.MemSink }

func (s *memSink) all() []record.Conn { return s.Conns() }

// server is a loopback HTTP server counting requests and paths.
type server struct {
	*httptest.Server
	hits  atomic.Int64
	mu    sync.Mutex
	paths map[string]int
}

func newServer(t *testing.T, idle time.Duration) *server {
	t.Helper()
	s := &server{paths: map[string]int{}}
	s.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.hits.Add(1)
		s.mu.Lock()
		s.paths[r.URL.Path]++
		s.mu.Unlock()
		w.Write([]byte("ok"))
	}))
	s.Config.IdleTimeout = idle
	s.Start()
	t.Cleanup(s.Close)
	return s
}

// eachFaultServer runs check in a parallel subtest per broken server (one
// that refuses connections, one that never answers, one that answers
// garbage) with its URL and the error kind its failures must be counted as.
func eachFaultServer(t *testing.T, check func(t *testing.T, name, url, kind string)) {
	for _, tt := range []struct {
		name string
		url  func(*testing.T) string
		kind string
	}{
		{"refused", refusedURL, ErrRefused},
		{"stalled", stallServer, ErrTimeout},
		{"garbage", garbageServer, ErrBadResponse},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			check(t, tt.name, tt.url(t), tt.kind)
		})
	}
}

// stallServer accepts connections and never answers.
func stallServer(t *testing.T) string {
	t.Helper()
	return rawServer(t, func(c net.Conn) {
		buf := make([]byte, 4096)
		for {
			if _, err := c.Read(buf); err != nil {
				return
			}
		}
	})
}

// garbageServer answers every connection with bytes that are not HTTP.
func garbageServer(t *testing.T) string {
	t.Helper()
	return rawServer(t, func(c net.Conn) {
		buf := make([]byte, 4096)
		c.Read(buf)
		c.Write([]byte("garbage garbage\r\n\r\n"))
	})
}

// rawServer runs handle on each accepted connection; everything closes at cleanup.
func rawServer(t *testing.T, handle func(net.Conn)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				handle(c)
			}()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return "http://" + ln.Addr().String()
}

// refusedURL is a loopback URL nobody listens on.
func refusedURL(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return "http://" + addr
}
