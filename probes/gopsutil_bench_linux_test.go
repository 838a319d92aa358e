package probes

import (
	"fmt"
	"testing"
	"time"

	psnet "github.com/shirou/gopsutil/v4/net"
)

// BenchmarkGopsutil lists the same sockets as BenchmarkSample with
// gopsutil's net.ConnectionsPid, which users often reach for: it walks
// /proc/PID/fd and parses /proc/PID/net/tcp{,6} (no idle age, no
// goroutines). Same sizes and gating as BenchmarkSample, so `make bench`
// puts the two side by side.
//
//	go test -run '^$' -bench Gopsutil -benchtime 5x ./probes/
func BenchmarkGopsutil(b *testing.B) {
	for _, n := range benchSizes(b) {
		b.Run(fmt.Sprintf("sockets=%d", n), func(b *testing.B) {
			h := holdSockets(b, n)
			pid := int32(h.cmd.Process.Pid)
			// Wait (bounded) until the helper has accepted all n: a socket
			// still in the accept queue has no fd, so gopsutil cannot see it.
			var listed int
			for deadline := time.Now().Add(20 * time.Second); listed < n+1 && time.Now().Before(deadline); {
				cs, err := psnet.ConnectionsPid("tcp", pid)
				if err != nil {
					b.Fatal(err)
				}
				if listed = len(cs); listed < n+1 {
					time.Sleep(50 * time.Millisecond)
				}
			}
			// The helper's n accepted sockets plus its listener.
			if listed < n+1 {
				b.Fatalf("gopsutil listed %d connections, want %d", listed, n+1)
			}
			b.ReportAllocs()
			b.ResetTimer()
			cpu0 := selfCPU()
			for b.Loop() {
				if _, err := psnet.ConnectionsPid("tcp", pid); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			b.ReportMetric(float64((selfCPU()-cpu0).Microseconds())/1000/float64(b.N), "cpu-ms/op")
		})
	}
}
