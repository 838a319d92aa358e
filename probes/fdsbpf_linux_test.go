package probes

import (
	"errors"
	"io/fs"
	"maps"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/procfs"
	"github.com/soak-dev/soak/record"
	"golang.org/x/sys/unix"
)

// openFDZoo opens, and keeps open for the helper's life, one fd of each
// kind: files, a directory, devices, pipes, a named FIFO, anon inodes
// (eventfd, epoll, timerfd, pidfd), a memfd, a namespace, and TCP, UDP and
// unix sockets. dir is a scratch directory.
func openFDZoo(dir string) error {
	fifo := filepath.Join(dir, "fifo")
	if err := unix.Mkfifo(fifo, 0o600); err != nil {
		return err
	}
	var p [2]int
	if err := unix.Pipe(p[:]); err != nil {
		return err
	}
	if _, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM, 0); err != nil {
		return err
	}
	for _, open := range []func() (int, error){
		func() (int, error) { return unix.Open(filepath.Join(dir, "file"), unix.O_CREAT|unix.O_RDWR, 0o600) },
		func() (int, error) { return unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY, 0) },
		func() (int, error) { return unix.Open("/dev/null", unix.O_RDONLY, 0) },
		func() (int, error) { return unix.Open(fifo, unix.O_RDWR, 0) },
		func() (int, error) { return unix.Open("/proc/self/ns/net", unix.O_RDONLY, 0) },
		func() (int, error) { return unix.Eventfd(0, 0) },
		func() (int, error) { return unix.EpollCreate1(0) },
		func() (int, error) { return unix.TimerfdCreate(unix.CLOCK_MONOTONIC, 0) },
		func() (int, error) { return unix.PidfdOpen(os.Getpid(), 0) },
		func() (int, error) { return unix.MemfdCreate("zoo", 0) },
		func() (int, error) { return unix.Socket(unix.AF_INET, unix.SOCK_DGRAM, 0) },
	} {
		if _, err := open(); err != nil {
			return err
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		return err
	}
	s, err := ln.Accept()
	if err != nil {
		return err
	}
	held = append(held, ln, c, s)
	return nil
}

// held keeps the zoo's Go-owned fds from being collected.
var held []any

// bpfOrSkip opens the BPF fd lister for pid, or skips where this machine
// does not allow it (no CAP_BPF, no kernel BTF, a kernel before 6.1).
func bpfOrSkip(t *testing.T, pid int) (*bpfFDReader, procfs.Proc) {
	t.Helper()
	p, err := procfs.NewProc(pid)
	if err != nil {
		t.Fatal(err)
	}
	st, err := p.Stat()
	if err != nil {
		t.Fatal(err)
	}
	r, err := openBPFFDReader(pid, st.Starttime)
	if err != nil {
		t.Skipf("BPF fd iterator not available here: %v", err)
	}
	t.Cleanup(r.close)
	return r, p
}

// TestBPFFDsMatchProc: the BPF lister reports the fds, types and socket
// inodes that /proc/PID/fd shows, for each kind of fd.
func TestBPFFDsMatchProc(t *testing.T) {
	t.Parallel()
	h := startHelper(t, "fdzoo", nil, "DIR="+t.TempDir())
	pid := h.cmd.Process.Pid
	b, p := bpfOrSkip(t, pid)
	pr, err := openFDReader(DefaultProcRoot, pid)
	if err != nil {
		t.Fatal(err)
	}
	defer pr.close()

	bi, pi := map[uint32]int32{}, map[uint32]int32{}
	bf, err := b.read(p, bi)
	if err != nil {
		t.Fatal(err)
	}
	pf, err := pr.read(p, pi)
	if err != nil {
		t.Fatal(err)
	}
	if bf.Total != pf.Total || !maps.Equal(bf.ByType, pf.ByType) {
		t.Errorf("bpf: %d %v; /proc: %d %v", bf.Total, bf.ByType, pf.Total, pf.ByType)
	}
	if !maps.Equal(bi, pi) {
		t.Errorf("socket inodes: bpf %v; /proc %v", bi, pi)
	}
	// The zoo holds at least: 6 sockets (a unix pair, UDP, listener, two TCP ends),
	// pipes (2 + stdin/stdout), anon inodes (eventfd, epoll, timerfd, pidfd).
	if bf.ByType[record.FDSocket] < 6 || bf.ByType[record.FDPipe] < 2 || bf.ByType[record.FDAnon] < 4 ||
		bf.ByType[record.FDFile] < 4 || bf.ByType[record.FDOther] < 2 {
		t.Errorf("zoo types: %v", bf.ByType)
	}
	t.Logf("zoo: %d fds %v", bf.Total, bf.ByType)
	if bf.Source != record.FDSourceBPF || pf.Source != record.FDSourceProc {
		t.Errorf("sources %q %q", bf.Source, pf.Source)
	}
}

// TestBPFFDsProcessGone: a process that exited, or a pid that names a
// process other than the one the lister was opened for, reads ErrNotExist.
func TestBPFFDsProcessGone(t *testing.T) {
	t.Parallel()
	h := startHelper(t, "fdzoo", nil, "DIR="+t.TempDir())
	pid := h.cmd.Process.Pid
	b, p := bpfOrSkip(t, pid)
	if _, err := b.read(p, map[uint32]int32{}); err != nil {
		t.Fatal(err)
	}
	wrong := *b
	wrong.started++ // as if the pid were reused by a later process
	if _, err := wrong.read(p, map[uint32]int32{}); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("another process's fds: err = %v, want ErrNotExist", err)
	}
	h.stop()
	if _, err := b.read(p, map[uint32]int32{}); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("exited process: err = %v, want ErrNotExist", err)
	}
}

// TestSamplerSaysFDMethod: the sampler uses the BPF lister where it can,
// /proc/PID/fd when told to, and the sample says which.
func TestSamplerSaysFDMethod(t *testing.T) {
	t.Parallel()
	h := startHelper(t, "fdzoo", nil, "DIR="+t.TempDir())
	pid := h.cmd.Process.Pid
	bpfOrSkip(t, pid)
	for _, tc := range []struct {
		opts []Option
		want string
	}{{nil, record.FDSourceBPF}, {[]Option{ForceProc()}, record.FDSourceProc}} {
		s, err := NewSampler(Target{Node: "n", PID: pid}, tc.opts...)
		if err != nil {
			t.Fatal(err)
		}
		smp, _ := s.Sample(t.Context(), time.Now())
		s.Close()
		if s.FDMethod() != tc.want || smp.FDs == nil || smp.FDs.Source != tc.want {
			t.Errorf("opts %d: method %q, sample %+v, want %s", len(tc.opts), s.FDMethod(), smp.FDs, tc.want)
		}
		if tc.want == record.FDSourceProc && s.FDFallback() == "" {
			t.Error("FDFallback empty with ForceProc")
		}
	}
}

// TestSamplerFallsBackWhenBPFFails: an iterator that stops working mid-run
// (here its link is closed under it) gives way to /proc/PID/fd: the sample
// keeps its fds and sockets, says why once, and later samples are clean.
func TestSamplerFallsBackWhenBPFFails(t *testing.T) {
	t.Parallel()
	h := startHelper(t, "fdzoo", nil, "DIR="+t.TempDir())
	pid := h.cmd.Process.Pid
	bpfOrSkip(t, pid)
	s, err := NewSampler(Target{Node: "n", PID: pid})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	b, ok := sourceOf[*fdSource](s).lister.(*bpfFDReader)
	if !ok {
		t.Fatalf("lister %T, want the BPF one", sourceOf[*fdSource](s).lister)
	}
	b.close()
	smp, _ := s.Sample(t.Context(), time.Now())
	if smp.FDs == nil || smp.FDs.Source != record.FDSourceProc || smp.FDs.ByType[record.FDSocket] < 6 || smp.Sockets == nil {
		t.Fatalf("after the iterator failed: fds %+v, sockets %v", smp.FDs, smp.Sockets != nil)
	}
	if len(smp.Errors) != 1 || !strings.Contains(smp.Errors[0], "BPF iterator failed") {
		t.Errorf("errors %q, want one saying the iterator failed", smp.Errors)
	}
	if s.FDMethod() != record.FDSourceProc || s.FDFallback() == "" {
		t.Errorf("method %q, fallback %q", s.FDMethod(), s.FDFallback())
	}
	if smp, _ = s.Sample(t.Context(), time.Now()); len(smp.Errors) != 0 {
		t.Errorf("next sample: errors %q", smp.Errors)
	}
}
