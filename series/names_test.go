package series

import (
	"errors"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Name
		err  string // substring of the error; "" when valid
		sugg string // the suggestion expected with the error
	}{
		{in: "goroutines", want: Name{Kind: Goroutines}},
		{in: "goroutines.server-conn", want: Name{Kind: Goroutines, Class: "server-conn"}},
		{in: "goroutines.fasthttp-client", want: Name{Kind: Goroutines, Class: "fasthttp-client"}},
		{in: "fds", want: Name{Kind: FDs}},
		{in: "fds.socket", want: Name{Kind: FDs, FDType: "socket"}},
		{in: "rss", want: Name{Kind: RSS}},
		{in: "threads", want: Name{Kind: Threads}},
		{in: "sockets.backend", want: Name{Kind: Sockets, Layer: "backend"}},
		{in: "sockets.backend.idle", want: Name{Kind: Sockets, Layer: "backend", Detail: "idle"}},
		{in: "sockets.client.CLOSE", want: Name{Kind: Sockets, Layer: "client", Detail: "CLOSE"}},
		{in: "sockets.client.CLOSE_WAIT", want: Name{Kind: Sockets, Layer: "client", Detail: "CLOSE_WAIT"}},
		{in: "sockets.all.TIME_WAIT", want: Name{Kind: Sockets, Layer: "all", Detail: "TIME_WAIT"}},

		{in: "", err: "required: a series"},
		{in: "goroutines.server_conn", err: `unknown goroutine class "server_conn"`, sugg: "goroutines.server-conn"},
		{in: "goroutines.Server-Conn", err: "unknown goroutine class", sugg: "goroutines.server-conn"},
		{in: "goroutines.transport-red", err: "unknown goroutine class", sugg: "goroutines.transport-read"},
		{in: "goroutines.handlers", err: "unknown goroutine class"},
		{in: "goroutines.server-conn.x", err: "one class"},
		{in: "fds.sockets", err: "unknown file descriptor type", sugg: "fds.socket"},
		{in: "rss.peak", err: "takes no qualifier", sugg: "rss"},
		{in: "sockets", err: "names a layer"},
		{in: "sockets.", err: "names a layer"},
		{in: "sockets.a.b.c", err: "too many parts"},
		{in: "sockets.client.close_wait", err: "neither idle nor a TCP state", sugg: "sockets.client.CLOSE_WAIT"},
		{in: "sockets.client.close", err: "neither idle nor a TCP state", sugg: "sockets.client.CLOSE"},
		{in: "sockets.client.TIMEWAIT", err: "neither idle nor a TCP state", sugg: "sockets.client.TIME_WAIT"},
		{in: "sockets.client.IDLE", err: "neither idle nor a TCP state", sugg: "sockets.client.idle"},
		{in: "sockets.client.LISTEN", err: "listening sockets are not counted"},
		{in: "sockets.client.bogus", err: "neither idle nor a TCP state"},
		{in: "goroutine.server-conn", err: "not a series (", sugg: "goroutines.server-conn"},
		{in: "socket.client", err: "not a series (", sugg: "sockets.client"},
		{in: "cpu", err: "CPU time"},
		{in: "memory", err: "not a series ("},
		{in: "memory.x", err: "not a series ("},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, err := Parse(tc.in)
			if tc.err == "" {
				tc.want.Text = tc.in
				if err != nil || got != tc.want {
					t.Fatalf("Parse(%q) = %+v, %v; want %+v", tc.in, got, err, tc.want)
				}
				return
			}
			var se *Error
			if !errors.As(err, &se) {
				t.Fatalf("Parse(%q) error = %v, want a *Error with %q", tc.in, err, tc.err)
			}
			if !strings.Contains(err.Error(), tc.err) {
				t.Errorf("Parse(%q) error = %q, want %q in it", tc.in, err, tc.err)
			}
			if se.Suggestion != tc.sugg {
				t.Errorf("Parse(%q) suggestion = %q, want %q", tc.in, se.Suggestion, tc.sugg)
			}
			if tc.sugg != "" {
				if _, err := Parse(tc.sugg); err != nil && !strings.HasPrefix(tc.sugg, "sockets.") {
					t.Errorf("suggestion %q does not parse: %v", tc.sugg, err)
				}
			}
		})
	}
}

func TestCheckLayers(t *testing.T) {
	layers := []string{"backend", "client", "intra"}
	for _, tc := range []struct {
		in, err, sugg string
	}{
		{in: "sockets.backend"},
		{in: "sockets.other.CLOSE_WAIT"},
		{in: "sockets.all"},
		{in: "goroutines"},
		{in: "sockets.backnd", err: `unknown layer "backnd"`, sugg: "sockets.backend"},
		{in: "sockets.Client.idle", err: `unknown layer "Client"`, sugg: "sockets.client.idle"},
		{in: "sockets.cloud", err: `unknown layer "cloud"`},
		{in: "goroutines.server_conn", err: "unknown goroutine class", sugg: "goroutines.server-conn"},
	} {
		_, err := Check(tc.in, layers)
		if tc.err == "" {
			if err != nil {
				t.Errorf("Check(%q) = %v, want no error", tc.in, err)
			}
			continue
		}
		var se *Error
		if !errors.As(err, &se) || !strings.Contains(err.Error(), tc.err) || se.Suggestion != tc.sugg {
			t.Errorf("Check(%q) = %v (suggestion %q), want %q with suggestion %q", tc.in, err, suggestionOf(err), tc.err, tc.sugg)
		}
	}
	if _, err := Check("sockets.x", nil); err == nil || !strings.Contains(err.Error(), "none defined") {
		t.Errorf("Check with no layers = %v, want 'none defined'", err)
	}
}

func suggestionOf(err error) string {
	var se *Error
	if errors.As(err, &se) {
		return se.Suggestion
	}
	return ""
}

func TestUnit(t *testing.T) {
	for in, want := range map[string]string{"goroutines": "goroutines", "goroutines.other": "goroutines", "fds.pipe": "fds",
		"rss": "bytes", "threads": "threads", "sockets.a.idle": "conns"} {
		n, err := Parse(in)
		if err != nil || n.Unit() != want {
			t.Errorf("Parse(%q).Unit() = %q, %v; want %q", in, n.Unit(), err, want)
		}
	}
}
