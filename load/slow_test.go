package load

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/soak-dev/soak/scenarios"
)

// tunedServer is an httptest server with the given http.Server timeouts.
func tunedServer(t *testing.T, tune func(*http.Server), h http.HandlerFunc) string {
	t.Helper()
	if h == nil {
		h = func(w http.ResponseWriter, r *http.Request) {
			io.Copy(io.Discard, r.Body)
			w.Write([]byte("ok"))
		}
	}
	s := httptest.NewUnstartedServer(h)
	tune(s.Config)
	s.Start()
	t.Cleanup(s.Close)
	return s.URL
}

func bigHandler(w http.ResponseWriter, r *http.Request) {
	buf := make([]byte, 32<<10)
	for i := 0; i < 2048; i++ { // at most 64MiB
		if _, err := w.Write(buf); err != nil {
			return
		}
	}
}

func TestSlow(t *testing.T) {
	t.Parallel()
	const n = 5
	short := 300 * time.Millisecond
	tests := []struct {
		name       string
		mode       string
		rate       scenarios.ByteSize
		tune       func(*http.Server)
		handler    http.HandlerFunc
		wantClosed float64
	}{
		{"headers vs ReadHeaderTimeout", SlowHeaders, 10, func(s *http.Server) { s.ReadHeaderTimeout = short }, nil, n},
		{"headers vs no timeout", SlowHeaders, 10, func(s *http.Server) {}, nil, 0},
		{"body vs ReadTimeout", SlowBody, 10, func(s *http.Server) { s.ReadTimeout = short }, nil, n},
		{"body vs no timeout", SlowBody, 10, func(s *http.Server) {}, nil, 0},
		{"read is throttled", SlowRead, 16 << 10, func(s *http.Server) {}, bigHandler, 0},
	}
	runs := make([]phaseRun, len(tests))
	for i, tt := range tests {
		p := &scenarios.Phase{Name: "slow", Slow: &scenarios.Slow{Connections: n, Duration: scenarios.Duration(1500 * time.Millisecond), Mode: tt.mode, Rate: tt.rate}}
		runs[i] = phaseRun{p, Env{Phase: "slow", BaseURL: tunedServer(t, tt.tune, tt.handler), Sink: &memSink{}, Stats: &Stats{}}}
	}
	results := runAtOnce(t, runs)
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, sink, stats := results[i], runs[i].env.Sink.(*memSink), runs[i].env.Stats
			if res.Extra["opened"] != n {
				t.Fatalf("opened %v: %v", res.Extra["opened"], res.Errors)
			}
			if got := res.Extra["closed_by_server"]; got != tt.wantClosed {
				t.Errorf("closed by server %v, want %v (extra %v, codes %v)", got, tt.wantClosed, res.Extra, res.StatusCodes)
			}
			if tt.wantClosed > 0 && res.Extra["closed_after_ms_min"] < 250 {
				t.Errorf("closed after %vms, before the server's timeout", res.Extra["closed_after_ms_min"])
			}
			if len(sink.all()) != n || stats.OpenConns.Load() != 0 {
				t.Errorf("ledger %d conns, %d still open", len(sink.all()), stats.OpenConns.Load())
			}
			for _, c := range sink.all() {
				if c.BytesOut == 0 {
					t.Errorf("conn sent nothing: %+v", c)
				}
				// 1.5s at 16KiB/s, plus one read buffer: far less than the 64MiB offered.
				if tt.mode == SlowRead && (c.BytesIn == 0 || c.BytesIn > 24<<10+4096) {
					t.Errorf("read %d bytes at 16KiB/s in 1.5s", c.BytesIn)
				}
			}
		})
	}
}

func TestAbandon(t *testing.T) {
	t.Parallel()
	const n = 5
	tests := []struct {
		name       string
		send       string
		tune       func(*http.Server)
		wantClosed float64
	}{
		{"nothing vs ReadHeaderTimeout", "nothing", func(s *http.Server) { s.ReadHeaderTimeout = 300 * time.Millisecond }, n},
		{"partial headers vs ReadHeaderTimeout", "partial-headers", func(s *http.Server) { s.ReadHeaderTimeout = 300 * time.Millisecond }, n},
		{"partial body vs ReadTimeout", "partial-body", func(s *http.Server) { s.ReadTimeout = 300 * time.Millisecond }, n},
		{"partial headers vs no timeout", "partial-headers", func(s *http.Server) {}, 0},
	}
	runs := make([]phaseRun, len(tests))
	for i, tt := range tests {
		p := &scenarios.Phase{Name: "gone", Abandon: &scenarios.Abandon{Connections: n, Duration: scenarios.Duration(time.Second), Send: tt.send}}
		runs[i] = phaseRun{p, Env{Phase: "gone", BaseURL: tunedServer(t, tt.tune, nil), Sink: &memSink{}}}
	}
	results := runAtOnce(t, runs)
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := results[i]
			if res.Extra["opened"] != n {
				t.Fatalf("opened %v: %v", res.Extra["opened"], res.Errors)
			}
			if got := res.Extra["closed_by_server"]; got != tt.wantClosed {
				t.Errorf("closed by server %v, want %v (%v)", got, tt.wantClosed, res.Extra)
			}
			if got, want := res.Extra["open_at_end"], n-tt.wantClosed; got != want {
				t.Errorf("open at end %v, want %v", got, want)
			}
			if tt.wantClosed > 0 && res.Extra["closed_after_ms_min"] < 250 {
				t.Errorf("closed after %vms, before the server's timeout", res.Extra["closed_after_ms_min"])
			}
			if got := res.ConnsClosedBy["server"]; float64(got) != tt.wantClosed {
				t.Errorf("ledger: closed by server %d, want %v", got, tt.wantClosed)
			}
		})
	}
}
