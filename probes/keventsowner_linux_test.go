package probes

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/soak-dev/soak/record"
)

// TestKernelEventsOnlyTheSUTsEnds: the witness reports the SUT's socket
// ends and none of soak's, on real processes. The SUT (a helper process)
// serves on P and holds M connections to soak's fake backend B; soak (this
// process) holds K load-client connections to P and its prober fetches the
// SUT's profile. Even with rules that name soak's ends (local:B, the
// backend's server sockets; remote:P, the load client's), the witness
// lists exactly what the SUT's fd table holds: K server ends in layer
// client, M client ends in layer backend, and nothing of the prober's.
func TestKernelEventsOnlyTheSUTsEnds(t *testing.T) {
	t.Parallel()
	const k, m = 5, 3
	backend, bport := sinkServer(t)
	h := startHelper(t, "sutdial", nil, "K="+strconv.Itoa(m), "BACKEND="+backend)
	rules := []LayerRule{{Name: "client", LocalPorts: []int{h.port}}, {Name: "backend", RemotePorts: []int{bport}},
		{Name: "soak", LocalPorts: []int{bport}, RemotePorts: []int{h.port}}}
	s, err := NewSampler(Target{Node: "sut", PID: h.cmd.Process.Pid, Layers: rules,
		GoroutinesURL: "http://" + h.addr + "/debug/pprof/goroutine?debug=1"}, KernelEvents(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ev := sourceOf[*eventSource](s)
	if ev == nil || ev.kev == nil {
		t.Skipf("kernel event witness unavailable: %s", s.EventsFallback())
	}
	load := holdConns(t, h.addr, k)
	if _, err := io.WriteString(h.stdin, "dial\n"); err != nil { // the SUT dials the backend
		t.Fatal(err)
	}
	s.Sample(context.Background(), time.Now()) // the prober dials the SUT
	// The ring is read every 100 ms: wait for the SUT's K+M ends, then a
	// little more for any end that should not be there.
	for deadline := time.Now().Add(5 * time.Second); len(ev.kev.live()) < k+m && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond)
	smp, _ := s.Sample(context.Background(), time.Now())
	witness := map[string]int{}
	var fromKev []string
	for _, c := range ev.kev.live() {
		witness[c.Layer+"/"+c.Side]++
		fromKev = append(fromKev, c.Local+" "+c.Remote)
	}
	// The polling view: the dump joined with the SUT's fd table.
	var fromFDs []string
	for key, c := range s.tracker.conns {
		if c.state == tcpEstablished {
			fromFDs = append(fromFDs, key.local.String()+" "+key.remote.String())
		}
	}
	slices.Sort(fromKev)
	slices.Sort(fromFDs)
	t.Logf("witness: %v; sockets: %v", witness, smp.Sockets.Layers)
	want := map[string]int{"client/" + record.SideServer: k, "backend/" + record.SideClient: m}
	if fmt.Sprint(witness) != fmt.Sprint(want) {
		t.Errorf("witness lists %v, want %v (the SUT's ends only)", witness, want)
	}
	if !slices.Equal(fromKev, fromFDs) {
		t.Errorf("witness and the SUT's fd table differ:\nwitness %v\nfd table %v", fromKev, fromFDs)
	}
	// soak's load client closes first: its ends wait in TIME_WAIT, owned
	// by no fd, with the SUT's port as remote port, which rule "soak"
	// names. Polling must not take them for the SUT's either: the witness
	// never saw the SUT dial them.
	for _, c := range load {
		c.Close()
	}
	time.Sleep(300 * time.Millisecond)
	smp, _ = s.Sample(context.Background(), time.Now())
	if l := smp.Sockets.Layers["soak"]; l != nil {
		t.Errorf("polling counts soak's closed load-client ends as the SUT's: layer soak %v", l.ByState)
	}
	// The SUT's backend connections are still open: the witness's lines
	// for them carry the idle the samples saw (a lower bound of the
	// layer's timeout), not 0.
	byTuple := map[string]int64{}
	var evOpen []record.Conn
	for _, c := range s.Close() {
		switch c.Witness {
		case record.WitnessKernel:
			byTuple[c.Local+" "+c.Remote] = c.MaxIdleMs
		case record.WitnessKernelEvents:
			evOpen = append(evOpen, c)
		}
	}
	if len(evOpen) != m {
		t.Errorf("witness: %d connections open at the end, want the %d backend ones", len(evOpen), m)
	}
	for _, c := range evOpen {
		if want := byTuple[c.Local+" "+c.Remote]; c.ClosedBy != record.OpenAtEnd || c.MaxIdleMs <= 0 || c.MaxIdleMs != want {
			t.Errorf("witness open at end %s -> %s: closed by %s, max idle %d ms; want open, the samples' %d ms (> 0)",
				c.Local, c.Remote, c.ClosedBy, c.MaxIdleMs, want)
		}
	}
}
