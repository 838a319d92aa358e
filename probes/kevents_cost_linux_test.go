package probes

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cilium/ebpf"
	"github.com/soak-dev/soak/record"
	"golang.org/x/sys/unix"
)

// runChurnSink accepts connections and reads each until its peer closes.
func runChurnSink() error {
	raiseNoFile(200000)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	fmt.Println("ADDR", ln.Addr())
	// Several accept loops, so a full accept queue (SYNs dropped, the
	// client's retry a second later) does not cap the churn.
	for range 4 {
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				go func() {
					defer c.Close()
					c.SetDeadline(time.Now().Add(10 * time.Second))
					io.Copy(io.Discard, c)
				}()
			}
		}()
	}
	io.Copy(io.Discard, os.Stdin)
	return nil
}

// runChurn opens RATE connections a second to ADDR for DUR, each writing
// one byte and closing at once, and prints "ADDR made N failed F slow S
// skipped K in D": slow dials took over 900 ms (a SYN retransmitted: the
// sink's queue was full), skipped are the connections the workers were
// too busy to start (the rate not reached on the client's side).
func runChurn() error {
	raiseNoFile(200000)
	rate, _ := strconv.Atoi(os.Getenv("RATE"))
	dur, _ := time.ParseDuration(os.Getenv("DUR"))
	addr := os.Getenv("ADDR")
	tokens := make(chan struct{}, rate)
	var made, failed, slow atomic.Int64
	skipped := 0
	var wg sync.WaitGroup
	for range 256 {
		wg.Go(func() {
			for range tokens {
				t0 := time.Now()
				c, err := net.Dial("tcp", addr)
				if err != nil {
					failed.Add(1)
					continue
				}
				if time.Since(t0) > 900*time.Millisecond {
					slow.Add(1)
				}
				c.Write([]byte{1})
				c.Close()
				made.Add(1)
			}
		})
	}
	start := time.Now()
	tick := time.NewTicker(time.Millisecond)
	sent := 0
	for now := range tick.C {
		el := now.Sub(start)
		if el >= dur {
			break
		}
		for want := int(el.Seconds() * float64(rate)); sent < want; sent++ {
			select {
			case tokens <- struct{}{}:
			default: // the workers are behind: the rate is not reached, and it shows
				skipped++
			}
		}
	}
	tick.Stop()
	close(tokens)
	wg.Wait()
	fmt.Printf("ADDR made %d failed %d slow %d skipped %d in %s\n", made.Load(), failed.Load(), slow.Load(), skipped,
		time.Since(start).Round(time.Millisecond))
	return nil
}

// churnResult is what a churn made, and what the machine did meanwhile.
type churnResult struct {
	made, slow, skipped int
	took                time.Duration
	churnCPU            time.Duration // the churn processes' and the sink's CPU time
	busy                float64       // share of the machine's CPU time busy (all cores), 0..1
}

// churn runs procs churn helpers at rate/procs each for dur (several
// processes, so one process's scheduler or a single accept-side goroutine
// does not cap the rate) and returns how many connections they made.
func churn(t *testing.T, sink *helper, rate, procs int, dur time.Duration) churnResult {
	t.Helper()
	addr := sink.addr
	busy0, total0 := machineCPU()
	sink0 := procCPU(sink.cmd.Process.Pid)
	outs := make([][]byte, procs)
	errs := make([]error, procs)
	cmds := make([]*exec.Cmd, procs)
	var wg sync.WaitGroup
	for i := range procs {
		r := rate / procs
		if i < rate%procs {
			r++
		}
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), helperEnv+"=churn", "ADDR="+addr, "RATE="+strconv.Itoa(r), "DUR="+dur.String())
		cmds[i] = cmd
		wg.Go(func() { outs[i], errs[i] = cmd.Output() })
	}
	wg.Wait()
	busy1, total1 := machineCPU()
	res := churnResult{churnCPU: procCPU(sink.cmd.Process.Pid) - sink0}
	for i := range procs {
		if errs[i] != nil {
			t.Fatalf("churn: %v", errs[i])
		}
		var made, failed, slow, skipped int
		var tooks string
		if _, err := fmt.Sscanf(string(outs[i]), "ADDR made %d failed %d slow %d skipped %d in %s", &made, &failed, &slow, &skipped, &tooks); err != nil {
			t.Fatalf("churn printed %q", outs[i])
		}
		took, _ := time.ParseDuration(tooks)
		res.made += made
		res.churnCPU += cmds[i].ProcessState.UserTime() + cmds[i].ProcessState.SystemTime()
		res.slow += slow
		res.skipped += skipped
		res.took = max(res.took, took)
	}
	if total1 > total0 {
		res.busy = float64(busy1-busy0) / float64(total1-total0)
	}
	return res
}

// machineCPU reads the machine's busy and total CPU time (all cores, in
// USER_HZ ticks) from /proc/stat; iowait counts as idle.
func machineCPU() (busy, total uint64) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, 0
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	for i, v := range f[1:] {
		n, _ := strconv.ParseUint(v, 10, 64)
		if i >= 8 {
			break // guest time is counted in user already
		}
		total += n
		if i != 3 && i != 4 { // idle, iowait
			busy += n
		}
	}
	return busy, total
}

// progRunTime sums the run time of the BPF programs a process holds, from
// /proc/PID/fdinfo (kept while BPF statistics are on).
func progRunTime(pid int) time.Duration {
	fds, _ := filepath.Glob(fmt.Sprintf("/proc/%d/fdinfo/*", pid))
	var ns int64
	for _, f := range fds {
		b, err := os.ReadFile(f)
		if err != nil || !strings.Contains(string(b), "prog_type:") {
			continue
		}
		for _, l := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(l, "run_time_ns:"); ok {
				n, _ := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
				ns += n
			}
		}
	}
	return time.Duration(ns)
}

// procCPU is a process's user and system time.
func procCPU(pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+2:]))
	u, _ := strconv.ParseInt(f[11], 10, 64)
	s, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(u+s) * 10 * time.Millisecond // USER_HZ 100
}

// TestKernelEventsCost is make bench's kevents part: the CPU the kernel
// event witness costs at 1,000 and 10,000 new connections a second
// (SOAK_KEVENTS_RATES), against the tracepoint tcplife (bpftrace) and
// polling (a 1 s sampler) on the same churn, and the events lost. CPU is
// user+system time of the watcher process plus the run time of its BPF
// programs (BPF statistics are on while it runs). Runs with
// SOAK_KEVENTS_BENCH=1; writes a Markdown table to SOAK_KEVENTS_OUT.
func TestKernelEventsCost(t *testing.T) {
	if os.Getenv("SOAK_KEVENTS_BENCH") == "" {
		t.Skip("make bench runs it (SOAK_KEVENTS_BENCH=1)")
	}
	rates := []int{1000, 10000}
	if s := os.Getenv("SOAK_KEVENTS_RATES"); s != "" {
		rates = nil
		for _, f := range strings.Split(s, ",") {
			n, err := strconv.Atoi(f)
			if err != nil || n <= 0 {
				t.Fatalf("SOAK_KEVENTS_RATES: bad rate %q", f)
			}
			rates = append(rates, n)
		}
	}
	dur := 5 * time.Second
	procs := 2
	if s := os.Getenv("SOAK_KEVENTS_PROCS"); s != "" {
		var err error
		if procs, err = strconv.Atoi(s); err != nil || procs <= 0 {
			t.Fatalf("SOAK_KEVENTS_PROCS: bad count %q", s)
		}
	}
	stats, err := ebpf.EnableStats(uint32(unix.BPF_STATS_RUN_TIME))
	if err != nil {
		t.Fatalf("enable BPF statistics: %v", err)
	}
	defer stats.Close()
	sink := startHelper(t, "churnsink", nil)
	port := sink.port
	// Every watcher watches the sink's side only, as soak watches a SUT
	// that soak's load dials: its accepted sockets, one per connection.
	rules := []LayerRule{{Name: "in", LocalPorts: []int{port}}}
	owner := kevOwner{tgid: sink.cmd.Process.Pid, listen: []uint16{uint16(port)}}
	var table strings.Builder
	fmt.Fprintf(&table, "| new conns/s (achieved) | watcher | CPU ms per s of churn | vs kernel events | connections recorded (of made: the sink's sockets) | events lost | machine CPU busy | churn: skipped, slow dials | churn CPU per connection (clients + sink) |\n|---|---|---|---|---|---|---|---|---|\n")
	for _, rate := range rates {
		type result struct {
			name string
			cpu  time.Duration
			churnResult
			seen int
			lost string
		}
		var rs []result

		// Kernel events.
		kev := openEventsOwned(t, owner, rules, time.Second, DefaultEventRing)
		c0 := selfCPU()
		p0, _ := kev.prog.Stats()
		ch := churn(t, sink, rate, procs, dur)
		time.Sleep(500 * time.Millisecond) // the last closes
		p1, _ := kev.prog.Stats()
		conns, st := kev.take()
		cpu := selfCPU() - c0 + p1.Runtime - p0.Runtime
		// What ended since take, and the sockets still closing, come from close.
		rest := kev.close()
		dialled := 0
		for _, c := range append(conns, rest...) {
			if c.Side == record.SideClient {
				dialled++
			}
		}
		rs = append(rs, result{"kernel events", cpu, ch, len(conns) + len(rest),
			fmt.Sprintf("%d (churn's own dialled sockets recorded: %d)", st.Lost, dialled)})

		// tcplife on the tracepoint, the sink's side.
		bpid, stop := startTcplife(t, port)
		c0, b0 := procCPU(bpid), progRunTime(bpid)
		ch = churn(t, sink, rate, procs, dur)
		time.Sleep(500 * time.Millisecond)
		cpu = procCPU(bpid) - c0 + progRunTime(bpid) - b0
		lines, lostLines := stop()
		rs = append(rs, result{"tcplife (bpftrace, tracepoint)", cpu, ch, lines, lostLines})

		// Polling: the sampler every second on the sink.
		s, err := NewSampler(Target{Node: "bench", PID: sink.cmd.Process.Pid, Layers: rules})
		if err != nil {
			t.Fatal(err)
		}
		c0 = selfCPU()
		done := make(chan struct{})
		var seen atomic.Int64
		var wg sync.WaitGroup
		wg.Go(func() {
			tk := time.NewTicker(time.Second)
			defer tk.Stop()
			for {
				select {
				case <-done:
					return
				case now := <-tk.C:
					_, ended := s.Sample(t.Context(), now)
					seen.Add(int64(len(ended)))
				}
			}
		})
		ch = churn(t, sink, rate, procs, dur)
		time.Sleep(500 * time.Millisecond)
		close(done)
		wg.Wait()
		cpu = selfCPU() - c0
		seen.Add(int64(len(s.Close())))
		rs = append(rs, result{"polling (1 s sampler)", cpu, ch, int(seen.Load()), "-"})

		base := rs[0].cpu
		for _, r := range rs {
			perS := float64(r.cpu.Microseconds()) / 1000 / r.took.Seconds()
			fmt.Fprintf(&table, "| %d (%.0f) | %s | %.1f | %.2fx | %d of %d | %s | %.0f%% | %d, %d | %.0f µs |\n", rate, float64(r.made)/r.took.Seconds(),
				r.name, perS, float64(r.cpu)/float64(base), r.seen, r.made, r.lost, 100*r.busy, r.skipped, r.slow,
				float64(r.churnCPU.Microseconds())/float64(max(r.made, 1)))
		}
	}
	t.Logf("%d churn processes\n%s", procs, table.String())
	if out := os.Getenv("SOAK_KEVENTS_OUT"); out != "" {
		if err := os.WriteFile(out, []byte(table.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// startTcplife starts bench/tcplife-tp.bt on port; stop returns the
// connections it printed and what it said about lost events.
func startTcplife(t *testing.T, port int) (int, func() (int, string)) {
	t.Helper()
	bt, err := exec.LookPath("bpftrace")
	if err != nil {
		t.Skip("bpftrace not installed (make deps-test installs it)")
	}
	if _, err := os.Stat("/sys/kernel/tracing/events/sock"); err != nil {
		if err := exec.Command("mount", "-t", "tracefs", "nodev", "/sys/kernel/tracing").Run(); err != nil {
			t.Skipf("tracefs not mounted and cannot be: %v", err)
		}
	}
	cmd := exec.Command(bt, "-B", "full", "../bench/tcplife-tp.bt", strconv.Itoa(port), "1")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(stdout)
	ready := make(chan error, 1)
	go func() {
		for {
			l, err := br.ReadString('\n')
			if err != nil {
				ready <- fmt.Errorf("bpftrace exited before attaching: %w", err)
				return
			}
			if strings.HasPrefix(l, "Attaching") {
				ready <- nil
				return
			}
		}
	}()
	select {
	case err := <-ready:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(120 * time.Second):
		cmd.Process.Kill()
		t.Fatal("bpftrace did not attach in 120 s")
	}
	// Its output is read as it comes: a full pipe would stall bpftrace.
	type counts struct{ n, lost int64 }
	res := make(chan counts, 1)
	go func() {
		var c counts
		sc := bufio.NewScanner(br)
		for sc.Scan() {
			f := strings.Fields(sc.Text())
			switch {
			case len(f) == 8 && f[0] != "LADDR":
				c.n++
			case len(f) >= 2 && f[0] == "Lost":
				l, _ := strconv.ParseInt(f[1], 10, 64)
				c.lost += l
			}
		}
		res <- c
	}()
	return cmd.Process.Pid, func() (int, string) {
		// bpftrace 0.17 has been seen to ignore a SIGINT after losing
		// events: it is killed after 20 s, and the row says so.
		cmd.Process.Signal(os.Interrupt)
		var c counts
		note := ""
		select {
		case c = <-res:
		case <-time.After(20 * time.Second):
			cmd.Process.Kill()
			c = <-res
			note = " (bpftrace ignored SIGINT, killed: its last lines are missing)"
		}
		cmd.Wait()
		return int(c.n), strconv.FormatInt(c.lost, 10) + note
	}
}
