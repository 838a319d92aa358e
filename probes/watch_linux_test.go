package probes

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/soak-dev/soak/internal/testkit"
	"github.com/soak-dev/soak/record"
)

func TestWatch(t *testing.T) {
	t.Parallel()
	h := startHelper(t, "server", nil)
	holdConns(t, h.addr, 2)
	tg := Target{PID: h.cmd.Process.Pid,
		GoroutinesURL: "http://" + h.addr + "/debug/pprof/goroutine?debug=1",
		Layers:        []LayerRule{{Name: "client", LocalPorts: []int{h.port}}}}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	// "closed" waits through 8 samples; it runs beside the others (not as a
	// parallel subtest, which would hold a -parallel slot through them),
	// on a server of its own: its 3 connections would show in the others'
	// counts.
	var wg sync.WaitGroup
	defer wg.Wait()
	wg.Go(func() {
		t.Run("closed", func(t *testing.T) {
			g := startHelper(t, "server", nil)
			holdConns(t, g.addr, 2)
			tg := Target{PID: g.cmd.Process.Pid,
				GoroutinesURL: "http://" + g.addr + "/debug/pprof/goroutine?debug=1",
				Layers:        []LayerRule{{Name: "client", LocalPorts: []int{g.port}}}}
			// 3 connections opened and closed by the client between two
			// samples: the kernel event witness counts them, with their idle.
			// The watch ends once its tally shows them (or after 50 samples,
			// 10 s, on a machine too loaded to get there).
			tally := regexp.MustCompile(`(?m)^\s*client\s+server\s+client\s+3\s+\d+m?s\s+\d+m?s\s*$`)
			wctx, stop := context.WithCancel(ctx)
			defer stop()
			out := &testkit.SyncBuffer{}
			done := make(chan error, 1)
			go func() {
				defer close(done)
				defer stop()
				for !strings.Contains(out.String(), "closed since start") {
					if wctx.Err() != nil {
						return
					}
					time.Sleep(10 * time.Millisecond) // the witness runs once a block is out
				}
				for range 3 {
					c, err := dialHTTP(g.addr)
					if err != nil {
						done <- err
						return
					}
					c.Close()
				}
				for text := out.String(); !tally.MatchString(text) && !strings.Contains(text, "witness=polling"); text = out.String() {
					if wctx.Err() != nil {
						return
					}
					time.Sleep(20 * time.Millisecond)
				}
			}()
			err := Watch(wctx, tg, WatchOptions{Interval: 200 * time.Millisecond, Count: 50, Notes: out}, out, KernelEvents(200*time.Millisecond))
			stop()
			if err := <-done; err != nil {
				t.Fatal(err)
			}
			if err != nil {
				t.Fatal(err)
			}
			text := out.String()
			if strings.Contains(text, "witness=polling") {
				t.Skipf("kernel event witness unavailable:\n%s", text)
			}
			for _, re := range []string{
				`note: connections' lives from kernel events`,
				`witness=kernel-events`,
				tally.String(),
			} {
				if !regexp.MustCompile(re).MatchString(text) {
					t.Errorf("output lacks %s:\n%s", re, text)
				}
			}
		})
	})

	t.Run("json", func(t *testing.T) {
		// A sample gets 90% of the interval: 450 ms, which a loaded
		// machine needs, where 100 ms left some samples without sockets.
		var out bytes.Buffer
		if err := Watch(ctx, tg, WatchOptions{Interval: 500 * time.Millisecond, Count: 2, JSON: true}, &out); err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(&out)
		n := 0
		for sc.Scan() {
			var s record.Sample
			if err := json.Unmarshal(sc.Bytes(), &s); err != nil {
				t.Fatalf("line %d: %v", n, err)
			}
			if s.Node == "" {
				t.Errorf("node is empty")
			}
			if s.Sockets == nil {
				t.Fatalf("line %d: no sockets; errors %q", n, s.Errors)
			}
			if got := s.Sockets.Layers["client"].Established(); got != 2 {
				t.Errorf("line %d: established = %d, want 2", n, got)
			}
			n++
		}
		if n != 2 {
			t.Errorf("%d lines, want 2", n)
		}
	})
	t.Run("table", func(t *testing.T) {
		var out bytes.Buffer
		if err := Watch(ctx, tg, WatchOptions{Count: 1}, &out); err != nil {
			t.Fatal(err)
		}
		text := out.String()
		for _, re := range []string{
			`method=netlink`,
			`(?m)^\s+client\s+2\s+\d\s`,
			`goroutines \d+ \(pprof\).*server-conn=3`,
			`fds \d+/\d+ .*socket=`,
		} {
			if !regexp.MustCompile(re).MatchString(text) {
				t.Errorf("table lacks %s:\n%s", re, text)
			}
		}
	})
	t.Run("redraw", func(t *testing.T) {
		var out bytes.Buffer
		if err := Watch(ctx, tg, WatchOptions{Interval: 100 * time.Millisecond, Count: 2, Redraw: true}, &out); err != nil {
			t.Fatal(err)
		}
		if n := strings.Count(out.String(), clearScreen); n != 2 {
			t.Errorf("%d screen clears in 2 samples, want 2", n)
		}
		var plain bytes.Buffer
		if err := Watch(ctx, tg, WatchOptions{Count: 1}, &plain); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(plain.String(), "\x1b") {
			t.Errorf("escape sequences without Redraw: %q", plain.String())
		}
	})
	t.Run("threads", func(t *testing.T) {
		// No pprof nor metrics URL: the count is of OS threads, said so.
		var out bytes.Buffer
		if err := Watch(ctx, Target{PID: tg.PID, Layers: tg.Layers}, WatchOptions{Count: 1}, &out); err != nil {
			t.Fatal(err)
		}
		if !regexp.MustCompile(`(?m)^threads \d+ \(OS threads`).MatchString(out.String()) || regexp.MustCompile(`(?m)^goroutines`).MatchString(out.String()) {
			t.Errorf("threads not labelled as threads:\n%s", out.String())
		}
	})
	t.Run("guess", func(t *testing.T) {
		// Without rules, the listening port makes layer "server".
		got := GuessLayers(ctx, tg.PID)
		if len(got) != 1 || got[0].Name != GuessedLayer || !slices.Contains(got[0].LocalPorts, h.port) {
			t.Fatalf("GuessLayers = %v, want server=local:%d", got, h.port)
		}
		var out bytes.Buffer
		if err := Watch(ctx, Target{PID: tg.PID, Layers: got}, WatchOptions{Count: 1}, &out); err != nil {
			t.Fatal(err)
		}
		if !regexp.MustCompile(`(?m)^\s+server\s+2\s`).MatchString(out.String()) {
			t.Errorf("held connections not in layer server:\n%s", out.String())
		}
	})
	t.Run("exit", func(t *testing.T) {
		g := startHelper(t, "server", nil)
		g.cmd.Process.Kill()
		g.cmd.Wait()
		err := Watch(ctx, Target{PID: g.cmd.Process.Pid}, WatchOptions{Count: 1}, &bytes.Buffer{})
		if err == nil || !strings.Contains(err.Error(), "no process") {
			t.Errorf("err = %v, want no process", err)
		}
	})
}
