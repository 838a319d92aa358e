package load

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/soak-dev/soak/record"
	"github.com/soak-dev/soak/scenarios"
)

func TestIdleHoldReuse(t *testing.T) {
	t.Parallel()
	const n = 50
	tests := []struct {
		name                   string
		serverIdle             time.Duration
		wantOK, wantClosed     float64
		wantClosedByServerConn int
	}{
		{"short server idle timeout", 300 * time.Millisecond, 0, n, n},
		{"no server idle timeout", 0, n, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := newServer(t, tt.serverIdle)
			sink := &memSink{}
			stats := &Stats{}
			p := &scenarios.Phase{Name: "hold", Idle: &scenarios.Idle{Connections: n, Duration: scenarios.Duration(1200 * time.Millisecond),
				ProbeReuse: true, Target: "GET /idle"}}
			res := runPhase(t, p, Env{Phase: "hold", BaseURL: srv.URL, Sink: sink, RunDir: t.TempDir(), Stats: stats})
			if got := res.Extra["opened"]; got != n {
				t.Fatalf("opened %v, want %d (errors %v)", got, n, res.Errors)
			}
			if got := res.Extra["reused_ok"]; got != tt.wantOK {
				t.Errorf("reused_ok = %v, want %v", got, tt.wantOK)
			}
			if got := res.Extra["reused_closed"]; got != tt.wantClosed {
				t.Errorf("reused_closed = %v, want %v", got, tt.wantClosed)
			}
			if got := res.ConnsClosedBy[record.ClosedByServer]; got != tt.wantClosedByServerConn {
				t.Errorf("closed by server %d, want %d (%v)", got, tt.wantClosedByServerConn, res.ConnsClosedBy)
			}
			if tt.serverIdle > 0 {
				// The witness of the server's idle timeout: closed after about 300ms.
				if got := res.Extra["closed_after_ms_min"]; got < 250 {
					t.Errorf("closed after %vms, before the server's idle timeout", got)
				}
			}
			if got, want := len(sink.all()), n; got != want {
				t.Errorf("ledger has %d conns, want %d", got, want)
			}
			if stats.OpenConns.Load() != 0 {
				t.Errorf("open conns left: %d", stats.OpenConns.Load())
			}
			if got, want := res.StatusCodes["200"], n+int(tt.wantOK); got != want {
				t.Errorf("status 200 counted %d times, want %d (first requests and answered reuses)", got, want)
			}
			if got, want := srv.hits.Load(), int64(n+int(tt.wantOK)); got != want {
				t.Errorf("server saw %d requests, want %d", got, want)
			}
		})
	}
}

func TestIdleFaultsAreCounted(t *testing.T) {
	t.Parallel()
	eachFaultServer(t, func(t *testing.T, name, url, kind string) {
		ph := &idlePhase{spec: scenarios.Idle{Connections: 5, Duration: scenarios.Duration(100 * time.Millisecond), ProbeReuse: true},
			timeout: 300 * time.Millisecond}
		res, err := ph.Run(context.Background(), Env{Phase: name, BaseURL: url, Sink: &memSink{}})
		if err != nil {
			t.Fatal(err)
		}
		if got := res.Errors[kind]; got != 5 {
			t.Errorf("errors %v, want 5 %s", res.Errors, kind)
		}
		if res.Extra["opened"] != 0 {
			t.Errorf("opened %v", res.Extra["opened"])
		}
	})
}

func TestQuiet(t *testing.T) {
	t.Parallel()
	ph, err := New(&scenarios.Phase{Name: "rest", Quiet: &scenarios.Quiet{Duration: scenarios.Duration(time.Hour)}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	dir := t.TempDir()
	res, err := ph.Run(ctx, Env{Phase: "rest", RunDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if res.Kind != "quiet" || res.Extra["interrupted"] != 1 || res.ConnsOpened != 0 {
		t.Errorf("result %+v", res)
	}
	ph, _ = New(&scenarios.Phase{Name: "rest", Quiet: &scenarios.Quiet{Duration: scenarios.Duration(50 * time.Millisecond)}})
	res, _ = ph.Run(context.Background(), Env{Phase: "rest2", RunDir: dir})
	if res.End.Sub(res.Start) < 50*time.Millisecond || res.Extra != nil {
		t.Errorf("quiet ran %v, extra %v", res.End.Sub(res.Start), res.Extra)
	}
}

func TestIdleStopsOnCancel(t *testing.T) {
	t.Parallel()
	url := stallServer(t)
	ph, _ := New(&scenarios.Phase{Name: "hold", Idle: &scenarios.Idle{Connections: 200, Duration: scenarios.Duration(time.Hour), ProbeReuse: true}})
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(200*time.Millisecond, cancel)
	res, err := ph.Run(ctx, Env{Phase: "hold", BaseURL: url, Sink: &memSink{}, Stats: &Stats{}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Extra["interrupted"] != 1 || res.Extra["opened"] != 0 {
		t.Errorf("extra %v", res.Extra)
	}
	if got := res.Extra["open_failed"] + res.Extra["open_skipped"]; got != 200 {
		t.Errorf("failed+skipped %v, want 200", got)
	}
}

// TestIdleUntilClosed: a hold until closed ends when the server has closed
// every connection, and the client ledger times the server's idle timeout;
// against a server that never closes, it ends at max and the connections
// are the client's closes (lower bounds).
func TestIdleUntilClosed(t *testing.T) {
	t.Parallel()
	const n = 3
	for _, tt := range []struct {
		name       string
		serverIdle time.Duration
		byServer   int
		openAtMax  float64
	}{
		{"server idle timeout 700ms", 700 * time.Millisecond, n, 0},
		{"server never closes", 0, 0, n},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := newServer(t, tt.serverIdle)
			sink := &memSink{}
			const maxHold = 2500 * time.Millisecond
			p := &scenarios.Phase{Name: "hold", Idle: &scenarios.Idle{Connections: n, Until: scenarios.IdleUntilClosed,
				Max: scenarios.Duration(maxHold), Target: "GET /idle"}}
			res := runPhase(t, p, Env{Phase: "hold", BaseURL: srv.URL, Sink: sink, RunDir: t.TempDir(), Stats: &Stats{}})
			if got := res.ConnsClosedBy[record.ClosedByServer]; got != tt.byServer {
				t.Errorf("closed by server %d, want %d (%v)", got, tt.byServer, res.ConnsClosedBy)
			}
			if got := res.Extra["open_at_max"]; got != tt.openAtMax {
				t.Errorf("open at max %v, want %v", got, tt.openAtMax)
			}
			held := time.Duration(res.Extra["held_ms"]) * time.Millisecond
			for _, c := range sink.all() {
				idle := time.Duration(c.IdleBeforeCloseMs) * time.Millisecond
				if tt.serverIdle > 0 && (idle < tt.serverIdle || idle > tt.serverIdle+watchEvery+100*time.Millisecond) {
					t.Errorf("idle before close %v, want the server's %v (to one peek interval)", idle, tt.serverIdle)
				}
				if tt.serverIdle == 0 && idle < maxHold-50*time.Millisecond {
					t.Errorf("idle before the client's close %v, want about max %v", idle, maxHold)
				}
			}
			if tt.serverIdle > 0 && held >= maxHold {
				t.Errorf("held %v: the hold did not end when the server had closed every connection", held)
			}
		})
	}
}

// TestIdleSourceAddrs: an idle hold with source_addrs opens its
// connections from those addresses, round-robin.
func TestIdleSourceAddrs(t *testing.T) {
	t.Parallel()
	srv := newServer(t, 0)
	sink := &memSink{}
	p := &scenarios.Phase{Name: "hold", Idle: &scenarios.Idle{Connections: 10, Duration: scenarios.Duration(100 * time.Millisecond),
		SourceAddrs: []string{"127.0.0.2", "127.0.0.3"}}}
	res := runPhase(t, p, Env{Phase: "hold", BaseURL: srv.URL, Sink: sink, RunDir: t.TempDir()})
	if got := res.Extra["opened"]; got != 10 {
		t.Fatalf("opened %v, want 10 (errors %v)", got, res.Errors)
	}
	from := map[string]int{}
	for _, c := range sink.all() {
		host, _, _ := strings.Cut(c.Local, ":")
		from[host]++
	}
	if from["127.0.0.2"] != 5 || from["127.0.0.3"] != 5 || res.Extra["source_addrs"] != 2 {
		t.Errorf("connections by source address %v, extra.source_addrs %v; want 5 from each of 127.0.0.2 and 127.0.0.3", from, res.Extra["source_addrs"])
	}
}
