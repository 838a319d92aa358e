package load

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/soak-dev/soak/scenarios"
)

// helperEnv makes the test binary a plain HTTP server (no idle timeout)
// that prints its address: the SUT of TestIdleRSS, in its own process so
// its memory is not counted as the client's.
const helperEnv = "SOAK_LOAD_HELPER_SERVER"

func helperServer() {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Println("error", err)
		os.Exit(1)
	}
	fmt.Println(ln.Addr().String())
	go func() { // exit when the parent closes our stdin
		bufio.NewReader(os.Stdin).ReadString('\n')
		os.Exit(0)
	}()
	http.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok")) }))
}

// BenchmarkSteadyVsVegeta measures a steady phase's request rate at full
// speed against a plain vegeta attacker with the same connections and
// workers, side by side against the same loopback server, and reports the
// ratio. SOAK_BENCH_DURATION sets each run's length (default 3s).
func BenchmarkSteadyVsVegeta(b *testing.B) {
	srv := newServerB(b)
	du := 3 * time.Second
	if d, err := time.ParseDuration(os.Getenv("SOAK_BENCH_DURATION")); err == nil {
		du = d
	}
	const conns, workers = 64, 10
	var soakRPS, vegetaRPS float64
	plain := func() float64 {
		atk := vegeta.NewAttacker(vegeta.Connections(conns), vegeta.MaxConnections(conns), vegeta.Workers(workers), vegeta.MaxWorkers(conns))
		var m vegeta.Metrics
		tr := vegeta.NewStaticTargeter(vegeta.Target{Method: "GET", URL: srv + "/"})
		for r := range atk.Attack(tr, vegeta.ConstantPacer{}, du, "plain") {
			m.Add(r)
		}
		m.Close()
		if m.Success < 1 {
			b.Logf("plain vegeta: success %.3f, errors %v", m.Success, m.Errors)
		}
		return m.Throughput
	}
	phase := func() float64 {
		p := &scenarios.Phase{Name: "bench", Steady: &scenarios.Steady{
			Requests: scenarios.Requests{Connections: conns, Workers: workers},
			Rate:     scenarios.Rate{Freq: 0, Per: time.Second}, Duration: scenarios.Duration(du)}}
		ph, _ := New(p)
		res, err := ph.Run(context.Background(), Env{Phase: "bench", BaseURL: srv, RunDir: b.TempDir(), Sink: &memSink{}})
		if err != nil {
			b.Fatal(err)
		}
		if res.Success < 1 {
			b.Logf("steady phase: success %.3f, errors %v", res.Success, res.Errors)
		}
		return res.Throughput
	}
	for i := 0; i < b.N; i++ {
		// Alternate the order so neither side always runs on a warmer machine.
		if i%2 == 0 {
			vegetaRPS += plain()
			soakRPS += phase()
		} else {
			soakRPS += phase()
			vegetaRPS += plain()
		}
	}
	b.ReportMetric(soakRPS/float64(b.N), "soak-req/s")
	b.ReportMetric(vegetaRPS/float64(b.N), "vegeta-req/s")
	b.ReportMetric(soakRPS/vegetaRPS, "ratio")
}

func newServerB(b *testing.B) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	s := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok")) })}
	go s.Serve(ln)
	b.Cleanup(func() { s.Close() })
	return "http://" + ln.Addr().String()
}

// TestIdleRSS holds SOAK_IDLE_CONNS (default 20,000) idle connections to a
// server in another process and reports the client's RSS per connection.
// It runs only with SOAK_LONG=1.
func TestIdleRSS(t *testing.T) {
	if os.Getenv("SOAK_LONG") == "" {
		t.Skip("SOAK_LONG=1 runs the 20,000-connection RSS measurement")
	}
	n := 20000
	if v, err := strconv.Atoi(os.Getenv("SOAK_IDLE_CONNS")); err == nil {
		n = v
	}
	// Room for n descriptors in both processes (root may raise the hard limit).
	var rl syscall.Rlimit
	syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl)
	if rl.Max < uint64(n)+1000 {
		want := syscall.Rlimit{Cur: uint64(n) + 1000, Max: uint64(n) + 1000}
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &want); err != nil {
			n = int(rl.Max) - 1000
			t.Logf("cannot raise the hard limit (%v): measuring %d connections", err, n)
		}
	}
	if _, err := Prepare(&scenarios.Scenario{Phases: []*scenarios.Phase{{Name: "hold", Idle: &scenarios.Idle{Connections: n}}}}); err != nil {
		t.Fatal(err)
	}

	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), helperEnv+"=1")
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { stdin.Close(); cmd.Wait() }()
	addr, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	addr = strings.TrimSpace(addr)

	runtime.GC()
	debug.FreeOSMemory()
	base := rss(t)
	var (
		mu   sync.Mutex
		peak int64
		stop = make(chan struct{})
		wg   sync.WaitGroup
	)
	wg.Add(1)
	go func() {
		defer wg.Done()
		tk := time.NewTicker(100 * time.Millisecond)
		defer tk.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tk.C:
				r := rss(t)
				mu.Lock()
				peak = max(peak, r)
				mu.Unlock()
			}
		}
	}()
	ph := &idlePhase{spec: scenarios.Idle{Connections: n, Duration: scenarios.Duration(5 * time.Second), ProbeReuse: true}}
	start := time.Now()
	res, err := ph.Run(context.Background(), Env{Phase: "hold", BaseURL: "http://" + addr, Sink: &memSink{}})
	close(stop)
	wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
	if res.Extra["opened"] != float64(n) || res.Extra["reused_ok"] != float64(n) {
		t.Errorf("opened %v, reused ok %v of %d (errors %v)", res.Extra["opened"], res.Extra["reused_ok"], n, res.Errors)
	}
	per := float64(peak-base) / float64(n)
	t.Logf("%d idle connections (source addrs %v): RSS %d KiB -> peak %d KiB: %.1f KiB per connection; phase took %v",
		n, res.Extra["source_addrs"], base>>10, peak>>10, per/1024, time.Since(start).Round(time.Millisecond))
	if per > 40<<10 {
		t.Errorf("%.1f KiB per idle connection, target at most 40 KiB", per/1024)
	}
}

// rss reads this process's resident set size in bytes.
func rss(t *testing.T) int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Skip("no /proc/self/status")
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "VmRSS:") {
			f := strings.Fields(line)
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			return kb << 10
		}
	}
	return 0
}
