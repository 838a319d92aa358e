package series

import (
	"testing"
	"time"

	"github.com/soak-dev/soak/record"
)

func TestValue(t *testing.T) {
	rec := record.Sample{
		Time:       time.Unix(100, 0),
		Goroutines: &record.Goroutines{Total: 900, Source: record.SourcePprof, ByClass: map[string]int{record.ClassServerConn: 800, record.ClassOther: 100}},
		FDs:        &record.FDs{Total: 70, ByType: map[string]int{record.FDSocket: 60, record.FDFile: 10}},
		Process:    &record.Process{RSS: 1 << 20, Threads: 9},
		Sockets: &record.Sockets{Layers: map[string]*record.LayerSockets{
			"client":          {ByState: map[string]int{Established: 5, Close: 50, CloseWait: 2}, IdleConns: 3},
			"backend":         {ByState: map[string]int{Established: 7, TimeWait: 4}},
			record.LayerOther: {ByState: map[string]int{Established: 1}},
		}},
	}
	smp := CompactAll([]record.Sample{rec})[0]
	for _, tc := range []struct {
		name string
		want float64
		ok   bool
	}{
		{"goroutines", 900, true},
		{"goroutines.server-conn", 800, true},
		{"goroutines.transport-read", 0, true},
		{"fds", 70, true},
		{"fds.socket", 60, true},
		{"fds.pipe", 0, true},
		{"rss", 1 << 20, true},
		{"threads", 9, true},
		{"sockets.client", 5, true},
		{"sockets.client.CLOSE", 50, true},
		{"sockets.client.CLOSE_WAIT", 2, true},
		{"sockets.client.idle", 3, true},
		{"sockets.backend.TIME_WAIT", 4, true},
		{"sockets.intra", 0, true}, // a layer with no socket this tick
		{"sockets.other", 1, true},
		{"sockets.all", 13, true},
		{"sockets.all.CLOSE", 50, true},
	} {
		n, err := Parse(tc.name)
		if err != nil {
			t.Fatal(err)
		}
		v, ok := n.Value(&smp)
		if v != tc.want || ok != tc.ok {
			t.Errorf("%s = %v, %v; want %v, %v", tc.name, v, ok, tc.want, tc.ok)
		}
	}

	// Figures a sample lacks are missing, never 0.
	empty := CompactAll([]record.Sample{{Goroutines: &record.Goroutines{Total: 5, Source: record.SourceMetrics}, FDs: &record.FDs{Total: 3}}})[0]
	for _, name := range []string{"goroutines.server-conn", "fds.socket", "rss", "threads", "sockets.client"} {
		n, _ := Parse(name)
		if v, ok := n.Value(&empty); ok {
			t.Errorf("%s on a sample without it = %v, ok; want missing", name, v)
		}
	}
	// A Name built by hand with an unknown class or state reads as missing too.
	for _, n := range []Name{{Kind: Goroutines, Class: "server_conn"}, {Kind: Sockets, Layer: "client", Detail: "close"}, {Kind: "cpu"}} {
		if v, ok := n.Value(&smp); ok {
			t.Errorf("%+v = %v, ok; want missing", n, v)
		}
	}
}
