package testsut

import (
	"fmt"
	"io"
	"os"
	"runtime"
)

// writeMetrics writes the few Prometheus metrics soak reads, in the text
// exposition format. Written by hand because prometheus/client_golang is not
// in soak's module graph and three gauges do not justify it.
func writeMetrics(w io.Writer, st *stats) {
	fmt.Fprintf(w, "# HELP go_goroutines Number of goroutines that currently exist.\n# TYPE go_goroutines gauge\ngo_goroutines %d\n", runtime.NumGoroutine())
	if n, err := openFDs(); err == nil {
		fmt.Fprintf(w, "# HELP process_open_fds Number of open file descriptors.\n# TYPE process_open_fds gauge\nprocess_open_fds %d\n", n)
	}
	fmt.Fprintf(w, "# HELP testsut_requests_total Object requests served.\n# TYPE testsut_requests_total counter\ntestsut_requests_total %d\n", st.requests.Load())
	fmt.Fprintf(w, "# HELP testsut_errors_total Object requests answered with a 5xx.\n# TYPE testsut_errors_total counter\ntestsut_errors_total %d\n", st.errors.Load())
	fmt.Fprintf(w, "# HELP testsut_leaked_goroutines Goroutines blocked by the goroutine-per-request leak.\n# TYPE testsut_leaked_goroutines gauge\ntestsut_leaked_goroutines %d\n", st.leaked.Load())
}

// openFDs counts the process's open file descriptors (Linux: /proc/self/fd).
func openFDs() (int, error) {
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return 0, fmt.Errorf("read /proc/self/fd: %w", err)
	}
	return len(entries), nil
}
