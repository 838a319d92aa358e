package probes

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/soak-dev/soak/record"
)

// A net/http client holding K idle pooled connections: K sockets on the
// backend layer's client side and a readLoop + writeLoop goroutine each.
func TestClientIdleConns(t *testing.T) {
	t.Parallel()
	const k = 4
	// Hold every response until all k requests arrived, so the client opens k connections.
	var arrived sync.WaitGroup
	arrived.Add(k)
	release := make(chan struct{})
	var once sync.Once
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		arrived.Done()
		once.Do(func() { go func() { arrived.Wait(); close(release) }() })
		<-release
		fmt.Fprint(w, "ok")
	}))
	defer srv.Close()
	port := srv.Listener.Addr().(*net.TCPAddr).Port
	h := startHelper(t, "client", nil, "K="+strconv.Itoa(k), "TARGET="+srv.URL)
	s := newTestSampler(t, Target{
		Node: "sut", PID: h.cmd.Process.Pid,
		GoroutinesURL: "http://" + h.addr + "/debug/pprof/goroutine?debug=1",
		Layers:        []LayerRule{{Name: "backend", RemotePorts: []int{port}}},
	})
	smp, _ := sampleNow(t, s)
	if len(smp.Errors) > 0 {
		t.Fatalf("errors: %v", smp.Errors)
	}
	l := layer(smp, "backend")
	if got := l.Established(); got != k {
		t.Fatalf("established = %d, want %d", got, k)
	}
	if got := l.Sides["client"]; got != k {
		t.Errorf("client side = %d, want %d", got, k)
	}
	for _, c := range []string{record.ClassTransportRead, record.ClassTransportWrite} {
		if got := smp.Goroutines.ByClass[c]; got != k {
			t.Errorf("%s goroutines = %d, want %d", c, got, k)
		}
	}
}

// The same sockets as `ss -tinp`: the same tuples, and idle ages that
// differ by no more than the time between the two reads.
func TestAgreesWithSS(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("ss"); err != nil {
		t.Skip("ss (iproute2) not installed")
	}
	const k = 6
	h := startHelper(t, "server", nil)
	holdConns(t, h.addr, k)
	time.Sleep(300 * time.Millisecond)
	s := newTestSampler(t, Target{Node: "sut", PID: h.cmd.Process.Pid,
		Layers: []LayerRule{{Name: "client", LocalPorts: []int{h.port}}}})
	began := time.Now()
	smp, _ := sampleNow(t, s)
	out, err := exec.Command("ss", "-tinpH", "state", "established", "sport", "= :"+strconv.Itoa(h.port)).Output()
	if err != nil {
		t.Fatalf("ss: %v", err)
	}
	between := time.Since(began).Milliseconds() + 1
	ssIdle := parseSS(t, string(out), h.cmd.Process.Pid)
	if got, want := layer(smp, "client").Established(), len(ssIdle); got != want || want != k {
		t.Fatalf("established = %d, ss lists %d, want %d", got, want, k)
	}
	st := layer(smp, "client").Idle
	var ssMax int64
	for _, v := range ssIdle {
		ssMax = max(ssMax, v)
	}
	// Both read the kernel's jiffies: ss's later read is later by at most
	// the time between the two, one jiffy (10 ms at HZ 100) either way.
	if d := ssMax - st.Max; d < 0 || d > between+10 {
		t.Errorf("idle max: probe %d ms, ss %d ms later: differ by %d ms, want 0 to the %d ms between the two reads", st.Max, ssMax, d, between)
	}
}

// parseSS returns min(lastsnd, lastrcv) per socket of pid in `ss -tinpH` output.
func parseSS(t *testing.T, out string, pid int) map[string]int64 {
	t.Helper()
	res := map[string]int64{}
	sc := bufio.NewScanner(strings.NewReader(out))
	var cur string
	for sc.Scan() {
		line := sc.Text()
		f := strings.Fields(line)
		if len(f) >= 4 && !strings.HasPrefix(line, "\t") && !strings.HasPrefix(line, " ") {
			cur = ""
			if strings.Contains(line, "pid="+strconv.Itoa(pid)+",") {
				cur = f[2] + " " + f[3]
			}
			continue
		}
		if cur == "" {
			continue
		}
		var snd, rcv int64 = -1, -1
		for _, kv := range f {
			if v, ok := strings.CutPrefix(kv, "lastsnd:"); ok {
				snd, _ = strconv.ParseInt(v, 10, 64)
			}
			if v, ok := strings.CutPrefix(kv, "lastrcv:"); ok {
				rcv, _ = strconv.ParseInt(v, 10, 64)
			}
		}
		if snd >= 0 && rcv >= 0 {
			res[cur] = min(snd, rcv)
		}
	}
	return res
}

// A fasthttp server: one worker goroutine per connection, classed fasthttp-server.
func TestFasthttpServer(t *testing.T) {
	t.Parallel()
	const k = 5
	h := startHelper(t, "fasthttp", nil)
	holdConns(t, h.addr, k)
	s := newTestSampler(t, Target{Node: "sut", PID: h.cmd.Process.Pid,
		GoroutinesURL: "http://" + h.extra[0] + "/debug/pprof/goroutine?debug=1",
		Layers:        []LayerRule{{Name: "client", LocalPorts: []int{h.port}}}})
	smp, _ := sampleNow(t, s)
	if got := layer(smp, "client").Established(); got != k {
		t.Fatalf("established = %d, want %d", got, k)
	}
	// k workers, plus the pool's cleaner goroutine.
	if got := smp.Goroutines.ByClass[record.ClassFasthttpServer]; got < k || got > k+1 {
		t.Errorf("fasthttp-server goroutines = %d, want %d or %d (by class %v, top %v)", got, k, k+1, smp.Goroutines.ByClass, smp.Goroutines.Top)
	}
	if got := smp.Goroutines.ByClass[record.ClassServerConn]; got != 1 {
		t.Errorf("server-conn goroutines = %d, want 1 (the pprof request)", got)
	}
}
