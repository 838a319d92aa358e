package probes

import (
	"context"
	"net"
	"os"
	"runtime"
	"testing"
	"time"
)

// TestProberMemoryFlat samples a server whose 2,000 connections churn (100
// replaced per tick) and checks that the prober's heap does not grow: a
// least-squares slope of the live heap after GC over the second half of
// the run, extrapolated to an hour.
// Long: SOAK_LONG=1, duration SOAK_MEM_DURATION (default 3m).
func TestProberMemoryFlat(t *testing.T) {
	if os.Getenv("SOAK_LONG") != "1" {
		t.Skip("long: set SOAK_LONG=1")
	}
	dur := 3 * time.Minute
	if d, err := time.ParseDuration(os.Getenv("SOAK_MEM_DURATION")); err == nil {
		dur = d
	}
	// An HTTP server, not the closewait helper: that one never closes what
	// it accepted, so at 100 new connections a tick it ran out of fds
	// (hard limit 20,000 here) within a minute and stopped accepting.
	h := startHelper(t, "server", nil)
	conns := make([]net.Conn, 0, 2000)
	dial := func() {
		c, err := net.Dial("tcp", h.addr)
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
	}
	for range 2000 {
		dial()
	}
	defer func() { resetAll(conns) }()
	s := newTestSampler(t, Target{Node: "sut", PID: h.cmd.Process.Pid,
		Layers: []LayerRule{{Name: "client", LocalPorts: []int{h.port}}}})
	var xs, ys []float64
	start := time.Now()
	ended := 0
	for tick := 0; time.Since(start) < dur; tick++ {
		resetAll(conns[:100])
		conns = conns[100:]
		for range 100 {
			dial()
		}
		_, e := s.Sample(context.Background(), time.Now())
		ended += len(e)
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		if tick >= 5 { // skip warm-up
			xs = append(xs, time.Since(start).Seconds())
			ys = append(ys, float64(ms.HeapAlloc))
		}
		time.Sleep(100 * time.Millisecond)
	}
	// Judge the second half: the first fills maps to their steady size
	// (Go maps keep their buckets after deletes), which is not a leak.
	half := len(xs) / 2
	t.Logf("first half: slope %.0f B/s", lsSlope(xs[:half], ys[:half]))
	xs, ys = xs[half:], ys[half:]
	slope := lsSlope(xs, ys)
	t.Logf("%d samples, %d connections ended, heap %.1f MiB -> %.1f MiB, slope %.0f B/s (%.2f MiB/h)",
		len(xs), ended, ys[0]/(1<<20), ys[len(ys)-1]/(1<<20), slope, slope*3600/(1<<20))
	if slope*3600 > 8<<20 {
		t.Errorf("heap grows %.1f MiB/h", slope*3600/(1<<20))
	}
}

func lsSlope(xs, ys []float64) float64 {
	n := float64(len(xs))
	var sx, sy, sxx, sxy float64
	for i := range xs {
		sx, sy, sxx, sxy = sx+xs[i], sy+ys[i], sxx+xs[i]*xs[i], sxy+xs[i]*ys[i]
	}
	return (n*sxy - sx*sy) / (n*sxx - sx*sx)
}
