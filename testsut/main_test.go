package testsut

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"testing"

	"go.uber.org/goleak"

	"github.com/soak-dev/soak/internal/testkit"
)

// childEnv, when set in the environment, makes the test binary run one node
// (the JSON Config in the variable) instead of the tests: tests start each
// role as a process of its own, so /proc counts are per role.
const childEnv = "SOAK_TESTSUT_CHILD"

func TestMain(m *testing.M) {
	if js := os.Getenv(childEnv); js != "" {
		os.Exit(runChild(js))
	}
	flag.Parse()
	// The cluster tests spend their time waiting out idle timeouts, not on
	// CPU: run them all at once rather than GOMAXPROCS at a time.
	testkit.Parallel(16)
	goleak.VerifyTestMain(m,
		// fasthttp starts process-wide helpers (the Date header updater and
		// a coarse clock) once, on first use.
		goleak.IgnoreAnyFunction("github.com/valyala/fasthttp.updateServerDate.func1"),
		goleak.IgnoreAnyFunction("github.com/valyala/fasthttp.init.func1"),
		// A HostClient's cleaner sleeps MaxIdleConnDuration before it sees
		// its pool is empty and exits; fasthttp offers no way to stop it.
		goleak.IgnoreAnyFunction("github.com/valyala/fasthttp.(*HostClient).connsCleaner"),
		// A stopped server's worker pool cleaner sleeps MaxIdleWorkerDuration
		// (10 s) before it exits; the default dialer's DNS cache cleaner is
		// process-wide.
		goleak.IgnoreAnyFunction("github.com/valyala/fasthttp.(*workerPool).Start.func2"),
		goleak.IgnoreAnyFunction("github.com/valyala/fasthttp.(*TCPDialer).tcpAddrsClean"),
	)
}

// runChild runs one node until SIGTERM, printing "ADDR host:port" once ready.
func runChild(js string) int {
	var cfg Config
	if err := json.Unmarshal([]byte(js), &cfg); err != nil {
		fmt.Fprintln(os.Stderr, "child config:", err)
		return 2
	}
	cfg.Ready = func(addr string) { fmt.Printf("ADDR %s\n", addr) }
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if err := Run(ctx, cfg); err != nil {
		fmt.Fprintln(os.Stderr, "run:", err)
		return 3
	}
	return 0
}
