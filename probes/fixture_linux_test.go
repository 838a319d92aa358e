package probes

import (
	"context"
	"encoding/json"
	"os"
	"testing"
	"time"

	"github.com/prometheus/procfs"
	"github.com/soak-dev/soak/record"
)

// fixtureRoot is a proc tree of one made-up process, pid 4242: its stat,
// limits, fds (symlinks to socket:[N], pipe:[N]...) and /net/tcp{,6}.
const fixtureRoot = "testdata/proc"

// TestSamplerOnFixture runs the whole sampler (the /proc method: no
// netlink, no BPF) on the fixture tree: every source reads through the
// proc root, none builds "/proc/"+pid.
func TestSamplerOnFixture(t *testing.T) {
	t.Parallel()
	s, err := NewSampler(Target{Node: "sut", PID: 4242, Layers: []LayerRule{{Name: "client", LocalPorts: []int{8080}}}},
		ProcRoot(fixtureRoot), ForceProc())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	smp, _ := s.Sample(context.Background(), time.Now())
	if len(smp.Errors) > 0 || smp.Gone {
		t.Fatalf("errors %v, gone %v", smp.Errors, smp.Gone)
	}
	if js, err := json.Marshal(smp); err == nil {
		t.Logf("sample: %s", js)
	}
	if p := smp.Process; p == nil || p.Threads != 12 || p.RSS != 2560*uint64(os.Getpagesize()) || p.CPUSeconds != 2 {
		t.Errorf("process %+v, want 12 threads, 2560 pages, 2 s of CPU", p)
	}
	want := map[string]int{record.FDSocket: 6, record.FDPipe: 2, record.FDAnon: 1, record.FDFile: 1, record.FDOther: 1}
	if f := smp.FDs; f == nil || f.Total != 11 || f.Limit != 1024 || f.Source != record.FDSourceProc {
		t.Errorf("fds %+v, want 11 from /proc, limit 1024", f)
	} else {
		for typ, n := range want {
			if f.ByType[typ] != n {
				t.Errorf("fds of type %s = %d, want %d (%v)", typ, f.ByType[typ], n, f.ByType)
			}
		}
	}
	if smp.Sockets == nil {
		t.Fatal("no sockets")
	}
	l := smp.Sockets.Layers["client"]
	if got := l.Established(); got != 2 {
		t.Errorf("client established = %d, want 2 (inodes 1001, 1002; 5001 is another process's)", got)
	}
	if got := l.ByState["CLOSE_WAIT"]; got != 1 {
		t.Errorf("client CLOSE_WAIT = %d, want 1", got)
	}
	if got := smp.Goroutines; got == nil || got.Source != record.SourceThreads || got.Total != 12 {
		t.Errorf("goroutines %+v, want 12 from threads", got)
	}
	if got, want := s.Method(), record.MethodProc; got != want {
		t.Errorf("method %s, want %s", got, want)
	}
}

// TestReadersOnFixture: the readers take the proc root, so each parses
// the fixture, and a missing process is fs.ErrNotExist, not a panic.
func TestReadersOnFixture(t *testing.T) {
	t.Parallel()
	root := procRoot(fixtureRoot)
	socks, err := readProcNet(root, 4242, nil)
	if err != nil || len(socks) != 7 {
		t.Errorf("readProcNet = %d sockets, %v; want 7 (6 IPv4, 1 IPv6)", len(socks), err)
	}
	if _, err := readProcNet(root, 99999, nil); err == nil {
		t.Error("readProcNet of a missing pid: no error")
	}
	r, err := openFDReader(root, 4242)
	if err != nil {
		t.Fatal(err)
	}
	defer r.close()
	fsys, err := procfs.NewFS(fixtureRoot)
	if err != nil {
		t.Fatal(err)
	}
	p, err := fsys.Proc(4242)
	if err != nil {
		t.Fatal(err)
	}
	inodes := map[uint32]int32{}
	fds, err := r.read(p, inodes)
	if err != nil || fds.Total != 11 {
		t.Errorf("fds %+v, %v; want 11", fds, err)
	}
	if got := inodes[1003]; got != 6 {
		t.Errorf("inode 1003 on fd %d, want 6 (%v)", got, inodes)
	}
	if ns, err := netNS(root.pid(4242, "ns", "net")); err != nil || ns != "net:[4026531840]" {
		t.Errorf("netNS = %q, %v", ns, err)
	}
	if _, err := NewSampler(Target{Node: "x", PID: 99999}, ProcRoot(fixtureRoot), ForceProc()); err == nil {
		t.Error("NewSampler of a pid missing from the fixture: no error")
	}
}

// TestSourcesRegistered: the sources register themselves, and run in an
// order that respects their data flow.
func TestSourcesRegistered(t *testing.T) {
	t.Parallel()
	got := Sources()
	pos := map[string]int{}
	for i, name := range got {
		pos[name] = i
	}
	for _, order := range [][2]string{{"goroutines", "sockets"}, {"process", "fds"}, {"fds", "sockets"}} {
		a, okA := pos[order[0]]
		b, okB := pos[order[1]]
		if !okA || !okB || a > b {
			t.Errorf("sources %v: want %s before %s", got, order[0], order[1])
		}
	}
}
