package probes

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/soak-dev/soak/record"
)

// BenchmarkSample measures one full sample (process, FDs, sockets by
// netlink, tracker; no HTTP) of a process holding N established sockets,
// and, for comparison, the CPU time of `ss -tin` and `ss -tinp` listing the
// same namespace. Metrics: cpu-ms/op of the prober (whole test process;
// also split into user-ms/op and sys-ms/op) and of each ss run. 5k, 18k and 50k sockets run with SOAK_LONG=1;
// SOAK_PROBE_SIZES=N,N,... runs those sizes instead; SOAK_PROBE_FDS=proc lists fds
// from /proc/PID/fd instead of the BPF iterator.
//
//	go test -run '^$' -bench Sample -benchtime 20x ./probes/
func BenchmarkSample(b *testing.B) {
	for _, n := range benchSizes(b) {
		b.Run(fmt.Sprintf("sockets=%d", n), func(b *testing.B) {
			h := holdSockets(b, n)
			s, err := NewSampler(Target{Node: "bench", PID: h.cmd.Process.Pid,
				Layers: []LayerRule{{Name: "client", LocalPorts: []int{h.port}}}})
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			if os.Getenv("SOAK_PROBE_FDS") == "proc" { // the fd lister before BPF, for comparison
				r, err := openFDReader(DefaultProcRoot, h.cmd.Process.Pid)
				if err != nil {
					b.Fatal(err)
				}
				f := sourceOf[*fdSource](s)
				f.lister.close()
				f.lister = r
			}
			ctx := context.Background()
			smp, _ := s.Sample(ctx, time.Now())
			if smp.Sockets == nil {
				b.Fatalf("no sockets in the sample: %v", smp.Errors)
			}
			if got := smp.Sockets.Layers["client"].Established(); got != n {
				b.Fatalf("established = %d, want %d", got, n)
			}
			b.ReportAllocs()
			b.ResetTimer()
			u0, s0 := selfCPUSplit()
			for b.Loop() {
				s.Sample(ctx, time.Now())
			}
			b.StopTimer()
			u1, s1 := selfCPUSplit()
			perOp := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 / float64(b.N) }
			b.ReportMetric(perOp(u1-u0+s1-s0), "cpu-ms/op")
			b.ReportMetric(perOp(u1-u0), "user-ms/op")
			b.ReportMetric(perOp(s1-s0), "sys-ms/op")
			// 1 when fds were listed by the BPF iterator, 0 for /proc/PID/fd.
			b.ReportMetric(map[bool]float64{true: 1}[s.FDMethod() == record.FDSourceBPF], "fds-via-bpf")
			for _, args := range [][]string{{"-tin"}, {"-tinp"}} {
				if d, err := commandCPU("ss", args...); err == nil {
					b.ReportMetric(float64(d.Microseconds())/1000, "ss"+args[0]+"-cpu-ms")
				}
			}
		})
	}
}

// dialMany opens n connections to addr from source addresses 127.0.0.2+
// (20k each), so the benchmark neither runs out of ephemeral ports nor
// takes those of 127.0.0.1 from other tests on the machine.
// benchSizes are the socket counts the probe benchmarks run: 1k and 10k;
// 5k, 18k and 50k too with SOAK_LONG=1; SOAK_PROBE_SIZES=N,N,... instead.
func benchSizes(b *testing.B) []int {
	sizes := []int{1000, 10000}
	if os.Getenv("SOAK_LONG") == "1" {
		// 50k needs an fd limit above 51k, which the process may not be able to raise.
		sizes = append(sizes, 5000, 18000, 50000)
	}
	if v := os.Getenv("SOAK_PROBE_SIZES"); v != "" { // e.g. 10000,14000,18000
		sizes = sizes[:0]
		for _, f := range strings.Split(v, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(f))
			if err != nil || n <= 0 {
				b.Fatalf("SOAK_PROBE_SIZES: bad size %q", f)
			}
			sizes = append(sizes, n)
		}
	}
	return sizes
}

// holdSockets starts a helper holding n established loopback sockets, and
// skips when the fd limit cannot take them. The sockets are reset at cleanup.
func holdSockets(b *testing.B, n int) *helper {
	if !raiseNoFile(uint64(n) + 1500) {
		b.Skipf("fd limit too low for %d sockets and not raisable here", n)
	}
	h := startHelper(b, "closewait", nil)
	conns := dialMany(b, h.addr, n)
	b.Cleanup(func() { resetAll(conns) })
	return h
}

func dialMany(b *testing.B, addr string, n int) []net.Conn {
	conns := make([]net.Conn, 0, n)
	for i := range n {
		d := net.Dialer{
			LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, byte(2+i/20000))},
			// Pick the port at connect, not bind: binding port 0 first is O(n) per socket.
			Control: func(_, _ string, rc syscall.RawConn) error {
				var err error
				rc.Control(func(fd uintptr) {
					err = syscall.SetsockoptInt(int(fd), syscall.IPPROTO_IP, ipBindAddressNoPort, 1)
				})
				return err
			},
		}
		c, err := d.Dial("tcp", addr)
		if err != nil {
			resetAll(conns)
			b.Fatalf("dial %d: %v", i, err)
		}
		conns = append(conns, c)
	}
	return conns
}

func selfCPU() time.Duration {
	u, s := selfCPUSplit()
	return u + s
}

// selfCPUSplit returns this process's user and system CPU time.
func selfCPUSplit() (user, sys time.Duration) {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano()), time.Duration(ru.Stime.Nano())
}

// commandCPU runs a command, discarding its output, and returns its CPU time.
func commandCPU(name string, args ...string) (time.Duration, error) {
	cmd := exec.Command(name, args...)
	if err := cmd.Run(); err != nil {
		return 0, err
	}
	return cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime(), nil
}

// ipBindAddressNoPort is IP_BIND_ADDRESS_NO_PORT (linux/in.h).
const ipBindAddressNoPort = 24

// resetAll closes connections with RST, so thousands of them leave no
// TIME_WAIT sockets behind on a shared machine.
func resetAll(conns []net.Conn) {
	for _, c := range conns {
		if tc, ok := c.(*net.TCPConn); ok {
			tc.SetLinger(0)
		}
		c.Close()
	}
}
