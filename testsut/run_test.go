package testsut

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
)

// runNode runs cfg in-process on a loopback port until the test ends.
func runNode(t *testing.T, cfg Config) string {
	t.Helper()
	cfg.Listen = "127.0.0.1:0"
	cfg.Logf = t.Logf
	addrc := make(chan string, 1)
	cfg.Ready = func(a string) { addrc <- a }
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Run(ctx, cfg) }()
	var addr string
	select {
	case addr = <-addrc:
	case err := <-done:
		cancel()
		t.Fatalf("Run: %v", err)
	}
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run returned %v after cancel, want nil", err)
		}
	})
	return "http://" + addr
}

// authLog records the Authorization header of every backend request.
type authLog struct {
	mu    sync.Mutex
	auths []string
}

func (a *authLog) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a.mu.Lock()
		a.auths = append(a.auths, r.Header.Get("Authorization"))
		a.mu.Unlock()
		h.ServeHTTP(w, r)
	})
}

// TestRoutes runs a proxy and a target in-process on each engine pair and
// checks every route, the object round trip, S3 error mapping and SigV4.
func TestRoutes(t *testing.T) {
	for _, tc := range []struct {
		engine, clientEngine Engine
		signed               bool
	}{
		{EngineNetHTTP, EngineNetHTTP, false},
		{EngineNetHTTP, EngineNetHTTP, true},
		{EngineFastHTTP, EngineFastHTTP, true},
		{EngineNetHTTP, EngineFastHTTP, false},
		{EngineFastHTTP, EngineNetHTTP, false},
	} {
		name := engineName(tc.engine) + "-" + engineName(tc.clientEngine)
		if tc.signed {
			name += "-signed"
		}
		t.Run(name, func(t *testing.T) {
			auths := &authLog{}
			backend := httptest.NewServer(auths.wrap(gofakes3.New(s3mem.New(), gofakes3.WithAutoBucket(true)).Server()))
			defer backend.Close()
			tcfg := DefaultConfig()
			tcfg.Role, tcfg.Engine, tcfg.ClientEngine, tcfg.Backend, tcfg.Bucket = RoleTarget, tc.engine, tc.clientEngine, backend.URL, "soak"
			if tc.signed {
				tcfg.AccessKey, tcfg.SecretKey = "AKIDEXAMPLE", "secret"
			}
			target := runNode(t, tcfg)
			pcfg := DefaultConfig()
			pcfg.Role, pcfg.Engine, pcfg.ClientEngine, pcfg.Targets = RoleProxy, tc.engine, tc.clientEngine, []string{target}
			proxy := runNode(t, pcfg)

			tr := &http.Transport{}
			defer tr.CloseIdleConnections()
			cl := &http.Client{Transport: tr, Timeout: 10 * time.Second}
			do := func(method, path string, body []byte) (int, http.Header, string) {
				t.Helper()
				req, err := http.NewRequest(method, proxy+path, bytes.NewReader(body))
				if err != nil {
					t.Fatal(err)
				}
				resp, err := cl.Do(req)
				if err != nil {
					t.Fatalf("%s %s: %v", method, path, err)
				}
				defer resp.Body.Close()
				b, _ := io.ReadAll(resp.Body)
				return resp.StatusCode, resp.Header, string(b)
			}
			obj := strings.Repeat("x", 5000)
			steps := []struct {
				method, path, body string
				status             int
				want               string // substring of the body
			}{
				{"GET", "/", "", 200, "soak testsut"},
				{"GET", "/health", "", 200, `"role":"proxy"`},
				{"GET", "/metrics", "", 200, "go_goroutines "},
				{"GET", "/metrics", "", 200, "process_open_fds "},
				{"GET", "/debug/pprof/goroutine?debug=1", "", 200, "goroutine profile: total"},
				{"GET", "/v1/objects/soak/dir/missing", "", 404, "NoSuchKey"},
				{"PUT", "/v1/objects/soak/dir/obj", obj, 200, ""},
				{"GET", "/v1/objects/soak/dir/obj", "", 200, obj},
				{"DELETE", "/v1/objects/soak/dir/obj", "", 204, ""},
				{"GET", "/v1/objects/soak/dir/obj", "", 404, ""},
				{"GET", "/v1/objects/other/obj", "", 404, "no such bucket"},
				{"POST", "/v1/objects/soak/obj", "", 405, ""},
				{"GET", "/nothing", "", 404, ""},
			}
			for _, s := range steps {
				status, _, body := do(s.method, s.path, []byte(s.body))
				if status != s.status || !strings.Contains(body, s.want) {
					t.Errorf("%s %s = %d %.80q, want %d containing %.80q", s.method, s.path, status, body, s.status, s.want)
				}
			}
			do("PUT", "/v1/objects/soak/h", []byte(obj))
			status, hdr, _ := do("HEAD", "/v1/objects/soak/h", nil)
			if status != 200 || hdr.Get("Content-Length") != "5000" || hdr.Get("ETag") == "" {
				t.Errorf("HEAD = %d, Content-Length %q, ETag %q; want 200, 5000, an ETag", status, hdr.Get("Content-Length"), hdr.Get("ETag"))
			}
			_, _, hb := do("GET", "/health", nil)
			var h health
			if err := json.Unmarshal([]byte(hb), &h); err != nil || h.Engine != tc.engine || h.ClientEngine != tc.clientEngine || h.IdleTimeout != "20s" {
				t.Errorf("health = %+v (%v), want engine %s, client engine %s, idle 20s", h, err, tc.engine, tc.clientEngine)
			}
			auths.mu.Lock()
			defer auths.mu.Unlock()
			if len(auths.auths) == 0 {
				t.Fatal("backend saw no requests")
			}
			for _, a := range auths.auths {
				if signed := strings.HasPrefix(a, "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/"); signed != tc.signed {
					t.Errorf("backend Authorization %q, want signed %t", a, tc.signed)
					break
				}
			}
		})
	}
}

// TestRunErrors: bad config and a busy port are setup errors, not panics.
func TestRunErrors(t *testing.T) {
	busy := httptest.NewServer(http.NotFoundHandler())
	defer busy.Close()
	c := DefaultConfig()
	c.Role, c.Listen, c.Backend = RoleTarget, strings.TrimPrefix(busy.URL, "http://"), "http://127.0.0.1:1"
	if err := Run(context.Background(), c); err == nil || !strings.Contains(err.Error(), "listen") {
		t.Errorf("Run on a busy port = %v, want a listen error", err)
	}
	c.Role = "nope"
	if err := Run(context.Background(), c); err == nil {
		t.Error("Run with a bad role = nil, want an error")
	}
}

// engineName is an engine as a test name part.
func engineName(e Engine) string {
	if e == EngineNetHTTP {
		return "nethttp"
	}
	return string(e)
}

// TestCache: with Cache on, a second GET is served without the backend, and
// a PUT invalidates the cached copy.
func TestCache(t *testing.T) {
	auths := &authLog{}
	backend := httptest.NewServer(auths.wrap(gofakes3.New(s3mem.New(), gofakes3.WithAutoBucket(true)).Server()))
	defer backend.Close()
	cfg := DefaultConfig()
	cfg.Role, cfg.Backend, cfg.Cache = RoleTarget, backend.URL, true
	target := runNode(t, cfg)
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	cl := &http.Client{Transport: tr}
	put := func(body string) {
		req, _ := http.NewRequest(http.MethodPut, target+"/v1/objects/b/k", strings.NewReader(body))
		resp, err := cl.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	get := func() string {
		resp, err := cl.Get(target + "/v1/objects/b/k")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	backendCalls := func() int { auths.mu.Lock(); defer auths.mu.Unlock(); return len(auths.auths) }
	put("one")
	if got := get(); got != "one" {
		t.Fatalf("GET = %q, want one", got)
	}
	n := backendCalls()
	if got := get(); got != "one" || backendCalls() != n {
		t.Errorf("second GET = %q with %d backend calls, want one from the cache (0 calls)", got, backendCalls()-n)
	}
	put("two")
	if got := get(); got != "two" {
		t.Errorf("GET after PUT = %q, want two", got)
	}
}
