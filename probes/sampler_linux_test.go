package probes

import (
	"context"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/soak-dev/soak/record"
)

func newTestSampler(t *testing.T, tg Target, opts ...Option) *Sampler {
	t.Helper()
	s, err := NewSampler(tg, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// sampleNow takes a sample now. Its deadline only guards against a hang:
// a machine loaded with other tests' sockets (the first, unfiltered dumps
// list them all) has needed more than 5 s.
func sampleNow(t *testing.T, s *Sampler) (record.Sample, []record.Conn) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return s.Sample(ctx, time.Now())
}

func layer(smp record.Sample, name string) *record.LayerSockets {
	if smp.Sockets == nil {
		return nil
	}
	return smp.Sockets.Layers[name]
}

// A server holding K idle keep-alive connections: exact counts, idle ages
// that grow with the clock and reset on activity, one server-conn goroutine each.
//
// The rows run at once, each subtest in a goroutine of its own, rather
// than as parallel subtests: each spends over a second asleep until its
// connections count as idle, and parallel subtests would hold the
// package's -parallel slots (GOMAXPROCS, 2 in CI) through those sleeps.
// The rows share nothing but the machine: a helper, sampler and port each.
func TestIdleKeepAliveServer(t *testing.T) {
	t.Parallel()
	var wg sync.WaitGroup
	defer wg.Wait()
	for _, tc := range []struct {
		name   string
		k      int
		listen string
		opts   []Option
	}{
		{"netlink", 5, "127.0.0.1:0", nil},
		{"netlink-ipv6", 2, "[::1]:0", nil},
		{"proc", 3, "127.0.0.1:0", []Option{ForceProc()}},
		{"proc-ipv6", 2, "[::1]:0", []Option{ForceProc()}},
	} {
		wg.Go(func() {
			t.Run(tc.name, func(t *testing.T) {
				if strings.HasPrefix(tc.listen, "[") {
					ln, err := net.Listen("tcp", tc.listen)
					if err != nil {
						t.Skipf("no IPv6 loopback here: %v", err)
					}
					ln.Close()
				}
				estimated := strings.HasPrefix(tc.name, "proc")
				h := startHelper(t, "server", nil, "LISTEN="+tc.listen)
				start := time.Now()
				conns := holdConns(t, h.addr, tc.k)
				lastWrite := time.Now()
				s := newTestSampler(t, Target{
					Node: "sut", PID: h.cmd.Process.Pid,
					GoroutinesURL: "http://" + h.addr + "/debug/pprof/goroutine?debug=1",
					Layers:        []LayerRule{{Name: "client", LocalPorts: []int{h.port}}},
				}, tc.opts...)
				smp, _ := sampleNow(t, s)
				if len(smp.Errors) > 0 {
					t.Fatalf("errors: %v", smp.Errors)
				}
				l := layer(smp, "client")
				if got, want := l.Established(), tc.k; got != want {
					t.Fatalf("established = %d, want %d (layers %+v)", got, want, smp.Sockets.Layers)
				}
				if got, want := l.Sides["server"], tc.k; got != want {
					t.Errorf("server side = %d, want %d", got, want)
				}
				if o := layer(smp, record.LayerOther); o != nil {
					t.Errorf("unexpected other sockets: %+v (the prober's own connection must not count)", o)
				}
				// The prober's own request is served by one more (*conn).serve.
				if got, want := smp.Goroutines.ByClass[record.ClassServerConn], tc.k+1; got != want {
					t.Errorf("server-conn goroutines = %d, want %d", got, want)
				}
				if got, want := smp.Goroutines.Source, record.SourcePprof; got != want {
					t.Errorf("goroutine source = %q, want %q", got, want)
				}
				if got, want := s.Method(), map[bool]string{true: record.MethodProc, false: record.MethodNetlink}[estimated]; got != want {
					t.Errorf("method = %q, want %q", got, want)
				}
				if smp.FDs == nil || smp.FDs.ByType[record.FDSocket] < tc.k+1 {
					t.Errorf("fds = %+v, want at least %d sockets", smp.FDs, tc.k+1)
				}
				if smp.Process == nil || smp.Process.RSS == 0 || smp.Process.Threads == 0 {
					t.Errorf("process = %+v", smp.Process)
				}

				time.Sleep(1200 * time.Millisecond)
				before := time.Now()
				smp, _ = sampleNow(t, s)
				after := time.Now()
				idle := layer(smp, "client").Idle
				if idle == nil {
					t.Fatal("no idle stats")
				}
				// The kernel's idle age lies between the time from our last write
				// to the sample's start and the time to the sample's end.
				lo, hi := before.Sub(lastWrite).Milliseconds()-50, after.Sub(start).Milliseconds()+50
				if estimated {
					lo = before.Sub(lastWrite).Milliseconds() - 1300 // estimated from first seen
				}
				if idle.Max < lo || idle.Max > hi {
					t.Errorf("idle max = %d ms, want within [%d, %d]", idle.Max, lo, hi)
				}
				if got, want := layer(smp, "client").IdleConns, tc.k; got != want {
					t.Errorf("idle conns = %d, want %d", got, want)
				}
				if got, want := idle.Estimated, estimated; got != want {
					t.Errorf("estimated = %v, want %v", got, want)
				}
				if estimated {
					return
				}
				// Activity on one connection resets its idle age only.
				if err := conns[0].get(); err != nil {
					t.Fatal(err)
				}
				smp, _ = sampleNow(t, s)
				idle = layer(smp, "client").Idle
				if got, want := sumHist(idle.Hist, 0, 3), 1; got != want { // <= 1000 ms
					t.Errorf("sockets idle <= 1s after activity = %d, want %d (hist %v)", got, want, idle.Hist)
				}
				if got, want := layer(smp, "client").IdleConns, tc.k-1; got != want {
					t.Errorf("idle conns after activity = %d, want %d", got, want)
				}
			})
		})
	}
}

func sumHist(h []int, from, to int) int {
	n := 0
	for i := from; i <= to && i < len(h); i++ {
		n += h[i]
	}
	return n
}

// A server that closes idle connections after T: the count drops to zero,
// TIME_WAIT appears on the server's side, and the tracker says the server closed.
func TestServerClosesIdle(t *testing.T) {
	t.Parallel()
	const k = 4
	// 2 s: the first sample, after the requests, must find every
	// connection still open on a loaded machine (1 s has been too short).
	h := startHelper(t, "server", nil, "IDLE_TIMEOUT=2s")
	s := newTestSampler(t, Target{Node: "sut", PID: h.cmd.Process.Pid,
		Layers: []LayerRule{{Name: "client", LocalPorts: []int{h.port}}}})
	conns := holdConns(t, h.addr, k)
	lastUse := time.Now() // after the server's last read and write on each
	// Each client end reads EOF once the server's FIN arrived: the server's
	// end had left ESTABLISHED before it sent it.
	fins := make(chan struct{}, k)
	for _, c := range conns {
		go func() {
			c.Read(make([]byte, 1)) // EOF at the FIN; an error once the test closes it
			fins <- struct{}{}
		}()
	}
	full := time.Now() // when the last sample that counted all k began
	smp, _ := sampleNow(t, s)
	if got := layer(smp, "client").Established(); got != k {
		t.Fatalf("established = %d, want %d", got, k)
	}
	var ended []record.Conn
	finned := 0
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		time.Sleep(250 * time.Millisecond)
		for drained := false; !drained; {
			select {
			case <-fins:
				finned++
			default:
				drained = true
			}
		}
		var e []record.Conn
		began := time.Now()
		smp, e = sampleNow(t, s)
		ended = append(ended, e...)
		got := layer(smp, "client").Established()
		if got == 0 {
			break
		}
		if got == k {
			full = began
		}
		// Seen in the first sample after the close, however late the
		// server's timer fired on a loaded machine.
		if finned == k {
			t.Fatalf("established = %d in a sample begun after the server's FIN reached each client, want 0", got)
		}
	}
	if got := layer(smp, "client").Established(); got != 0 {
		t.Fatalf("established = %d after the idle timeout, want 0", got)
	}
	// A client closes on the server's FIN; the server's side then waits in TIME_WAIT.
	for _, c := range conns {
		c.Close()
	}
	smp, e := waitFor(t, s, func(smp record.Sample) bool { return layer(smp, "client").ByState["TIME_WAIT"] == k })
	ended = append(ended, e...)
	l := layer(smp, "client")
	if got := l.ByState["TIME_WAIT"]; got != k {
		t.Errorf("TIME_WAIT = %d, want %d (server closed first)", got, k)
	}
	if len(ended) != k {
		t.Fatalf("ended conns = %d, want %d: %+v", len(ended), k, ended)
	}
	// Each connection's largest idle is at least what the last sample that
	// counted them all saw: the time since their last use, in jiffies (one
	// off at most, 10 ms at HZ 100). Near the 2 s timeout on a quiet
	// machine (samples 250 ms apart); a loaded one samples less often.
	minIdle := full.Sub(lastUse).Milliseconds() - 10
	for _, c := range ended {
		if c.ClosedBy != record.ClosedByServer || c.Layer != "client" || c.Side != "server" || c.Witness != record.WitnessKernel {
			t.Errorf("conn = %+v, want closed by server on the client layer's server side", c)
		}
		if c.MaxIdleMs < minIdle {
			t.Errorf("max idle = %d ms, want at least the %d ms idle of the last sample that counted all %d", c.MaxIdleMs, minIdle, k)
		}
	}
	t.Logf("max idle at least %d ms (2 s idle timeout)", minIdle)
	if rest := s.Close(); len(rest) != 0 {
		t.Errorf("open at end = %d, want 0", len(rest))
	}
}

// CLOSE_WAIT on purpose: the peer closes, the process never does.
func TestCloseWait(t *testing.T) {
	t.Parallel()
	const k = 3
	h := startHelper(t, "closewait", nil)
	peers := dialPeers(t, h.addr, k)
	s := newTestSampler(t, Target{Node: "sut", PID: h.cmd.Process.Pid,
		Layers: []LayerRule{{Name: "client", LocalPorts: []int{h.port}}}})
	waitFor(t, s, func(smp record.Sample) bool { return layer(smp, "client").Established() == k })
	for _, c := range peers {
		c.Close()
	}
	smp, _ := waitFor(t, s, func(smp record.Sample) bool { return layer(smp, "client").ByState["CLOSE_WAIT"] == k })
	first := layer(smp, "client").CloseWaitMaxAgeMs
	time.Sleep(600 * time.Millisecond)
	smp, _ = sampleNow(t, s)
	l := layer(smp, "client")
	if got := l.ByState["CLOSE_WAIT"]; got != k {
		t.Fatalf("CLOSE_WAIT = %d, want %d", got, k)
	}
	if l.CloseWaitMaxAgeMs < first+500 {
		t.Errorf("CLOSE_WAIT max age = %d ms, want at least %d (it must grow)", l.CloseWaitMaxAgeMs, first+500)
	}
	// Killing the process ends the connections; the peer had closed first.
	open := s.Close()
	if len(open) != k {
		t.Fatalf("open at end = %d, want %d", len(open), k)
	}
	for _, c := range open {
		if c.ClosedBy != record.OpenAtEnd || c.LastState != "CLOSE_WAIT" {
			t.Errorf("conn = %+v, want open at end in CLOSE_WAIT", c)
		}
	}
}

// waitFor samples until ok holds (bounded) and returns the last sample
// and the connections that ended meanwhile.
func waitFor(t *testing.T, s *Sampler, ok func(record.Sample) bool) (record.Sample, []record.Conn) {
	t.Helper()
	var (
		smp   record.Sample
		ended []record.Conn
	)
	for i := 0; i < 200; i++ {
		var e []record.Conn
		smp, e = sampleNow(t, s)
		ended = append(ended, e...)
		if ok(smp) {
			return smp, ended
		}
		time.Sleep(25 * time.Millisecond)
	}
	t.Fatalf("condition never held; last sample %+v", smp.Sockets)
	return smp, ended
}
