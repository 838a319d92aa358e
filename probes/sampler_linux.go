package probes

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/netip"
	"os"
	"strconv"
	"time"

	"github.com/prometheus/procfs"
	"github.com/soak-dev/soak/record"
)

// sysState is the Linux part of a Sampler.
type sysState struct {
	proc     procfs.Proc
	started  uint64 // start time in clock ticks after boot: tells a reused pid apart
	netns    string
	otherNS  bool
	fds      fdLister
	fdsWhy   string        // why /proc/PID/fd is read, when BPF was tried and failed
	diag     *diag         // nil with the proc method
	fallback string        // why the proc method is used, when it was not asked for
	filter   *peerFilter   // nil with the proc method
	socks    []sock        // reused dump buffer
	sockFDs  int           // socket fds in the last sample: the next map's size
	kev      *kernelEvents // nil when polling only
	kevWhy   string        // why the kernel event witness does not run, when asked for
	kevLost  int64         // lost events already reported
}

func newSampler(t Target, opts ...Option) (*Sampler, error) {
	if t.PID <= 0 {
		return nil, fmt.Errorf("probes: bad pid %d", t.PID)
	}
	s := &Sampler{target: t, fetchTimeout: DefaultFetchTimeout, topStacks: DefaultTopStacks}
	for _, o := range opts {
		o(s)
	}
	pid := strconv.Itoa(t.PID)
	p, err := procfs.NewProc(t.PID)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("probes: no process with pid %d", t.PID)
		}
		return nil, fmt.Errorf("probes: open /proc/%d: %w", t.PID, err)
	}
	if _, err := os.ReadDir("/proc/" + pid + "/fd"); err != nil {
		return nil, accessError(t.PID, "/proc/"+pid+"/fd", err)
	}
	st, err := p.Stat()
	if err != nil {
		return nil, accessError(t.PID, "/proc/"+pid+"/stat", err)
	}
	sys := &sysState{proc: p, started: st.Starttime}
	if sys.netns, err = netNS(pid); err != nil {
		return nil, accessError(t.PID, "/proc/"+pid+"/ns/net", err)
	}
	self, err := netNS("self")
	if err != nil {
		return nil, fmt.Errorf("probes: %w", err)
	}
	sys.otherNS = self != sys.netns
	s.method = record.MethodProc
	if !s.forceProc {
		d, err := openDiag(t.PID, sys.otherNS)
		if err == nil {
			_, _, err = d.dump(nil, nil)
			if err != nil {
				d.close()
			}
		}
		switch {
		case err == nil:
			sys.diag, sys.filter, s.method = d, newPeerFilter(), record.MethodNetlink
		case sys.otherNS:
			// /proc/PID/net/tcp would do, but without idle ages: say what to fix instead.
			return nil, fmt.Errorf("probes: pid %d: %w", t.PID, err)
		default:
			sys.fallback = err.Error()
		}
	}
	if sys.fds, sys.fdsWhy, err = openFDLister(t.PID, st.Starttime, s.forceProc); err != nil {
		if sys.diag != nil {
			sys.diag.close()
		}
		return nil, accessError(t.PID, "/proc/"+pid+"/fd", err)
	}
	if s.events > 0 {
		sys.kev, sys.kevWhy = openEventWitness(t, sys.netns, s.events, s.forceProc)
	}
	s.sys = sys
	s.layers = newLayerSet(t.Layers)
	s.tracker = newTracker(t.Node)
	if t.GoroutinesURL != "" || t.MetricsURL != "" {
		s.fetch = newFetcher(s.fetchTimeout)
	}
	return s, nil
}

// openFDLister prefers the BPF iterator, which costs a fraction of
// /proc/PID/fd, and falls back to /proc/PID/fd, saying why.
func openFDLister(pid int, started uint64, forceProc bool) (fdLister, string, error) {
	why := "asked for /proc"
	if !forceProc {
		r, err := openBPFFDReader(pid, started)
		if err == nil {
			return r, "", nil
		}
		why = err.Error()
	}
	r, err := openFDReader(pid)
	if err != nil {
		return nil, "", err
	}
	return r, why, nil
}

// openEventWitness starts the kernel event witness, or says why not.
func openEventWitness(t Target, netns string, interval time.Duration, forceProc bool) (*kernelEvents, string) {
	if forceProc {
		return nil, "asked for polling only"
	}
	ino, err := netnsInode(netns)
	if err == nil {
		var k *kernelEvents
		if k, err = openKernelEvents(t.Node, ino, t.Layers, interval, DefaultEventRing); err == nil {
			return k, ""
		}
	}
	return nil, err.Error()
}

// accessError explains a /proc entry the prober may not read.
func accessError(pid int, path string, err error) error {
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("probes: no process with pid %d", pid)
	case errors.Is(err, fs.ErrPermission):
		fi, serr := os.Stat(fmt.Sprintf("/proc/%d", pid))
		if serr == nil && ownerUID(fi) == os.Getuid() {
			// Same user and still denied: ptrace access rules (another user
			// namespace or container, yama ptrace_scope, a non-dumpable process).
			return fmt.Errorf("probes: cannot read %s of pid %d although soak runs as its owner (uid %d): %w; "+
				"the process is likely in another container or user namespace, or protected by ptrace rules: "+
				"run soak inside that container, or with CAP_SYS_PTRACE there", path, pid, os.Getuid(), err)
		}
		owner := ""
		if serr == nil {
			owner = fmt.Sprintf(" (process owned by uid %d, soak runs as uid %d)", ownerUID(fi), os.Getuid())
		}
		return fmt.Errorf("probes: cannot read %s%s: %w; run soak as the same user as the SUT, "+
			"as root, or with CAP_SYS_PTRACE (setcap cap_sys_ptrace+ep $(which soak))", path, owner, err)
	}
	return fmt.Errorf("probes: read %s: %w", path, err)
}

func (s *Sampler) sample(ctx context.Context, now time.Time) (record.Sample, []record.Conn) {
	out := record.Sample{Time: now, Node: s.target.Node, PID: s.target.PID}
	if s.gone != "" {
		out.Gone, out.Errors = true, []string{s.gone}
		return out, nil
	}
	if s.closed {
		out.Errors = []string{"sample: sampler closed"}
		return out, nil
	}
	// The HTTP fetch runs while /proc and netlink are read; it is joined before returning.
	gch := make(chan goroutineResult, 1)
	go func() { gch <- s.goroutines(ctx) }()

	proc, exited, err := readProcess(s.sys.proc, s.sys.started)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		out.Errors = append(out.Errors, "process: "+err.Error())
	}
	if exited || errors.Is(err, fs.ErrNotExist) {
		<-gch
		return s.markGone(out), nil
	}
	out.Process = proc

	// Not kept across ticks: a SUT leaking fds must not grow the prober's heap.
	inodes := make(map[uint32]int32, s.sys.sockFDs)
	fds, err := s.sys.fds.read(s.sys.proc, inodes)
	if err != nil && !errors.Is(err, fs.ErrNotExist) && s.sys.fds.source() == record.FDSourceBPF {
		// The iterator failed where /proc may not: use /proc from now on.
		if r, oerr := openFDReader(s.target.PID); oerr == nil {
			out.Errors = append(out.Errors, "fds: BPF iterator failed, reading /proc/PID/fd from now on: "+err.Error())
			s.sys.fds.close()
			s.sys.fds, s.sys.fdsWhy = r, err.Error()
			clear(inodes)
			fds, err = r.read(s.sys.proc, inodes)
		}
	}
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			<-gch
			return s.markGone(out), nil
		}
		out.Errors = append(out.Errors, "fds: "+err.Error())
	}
	out.FDs = fds

	dumped := false
	var partial bool
	if fds != nil && ctx.Err() == nil {
		s.sys.sockFDs = len(inodes)
		if partial, err = s.dump(inodes); err != nil {
			out.Errors = append(out.Errors, "sockets: "+err.Error())
		}
		dumped = err == nil
	}

	// Join the fetch before classifying sockets: its connection's address is
	// known once the dial returned, and the dump may already list it.
	g := <-gch
	out.Errors = append(out.Errors, g.errs...)
	out.Goroutines = g.g
	if out.Goroutines == nil && proc != nil {
		out.Goroutines = &record.Goroutines{Total: proc.Threads, Source: record.SourceThreads}
	}

	var ended []record.Conn
	if dumped {
		var own map[netip.AddrPort]bool
		if s.fetch != nil {
			own = s.fetch.ownAddrs(now)
		}
		out.Sockets, ended = socketView(now, s.sys.socks, inodes, own, s.layers, s.tracker, s.method, partial)
		out.Sockets.NetNS = s.sys.netns
	}
	if s.sys.kev != nil {
		conns, st := s.sys.kev.take()
		ended = append(ended, conns...)
		out.Events = &st
		if st.Lost > s.sys.kevLost {
			out.Errors = append(out.Errors, fmt.Sprintf("events: %d kernel events lost (ring buffer full), %d in all",
				st.Lost-s.sys.kevLost, st.Lost))
			s.sys.kevLost = st.Lost
		}
	}
	if ctx.Err() != nil {
		out.Errors = append(out.Errors, "sample: "+ctx.Err().Error())
	}
	return out, ended
}

func (s *Sampler) markGone(out record.Sample) record.Sample {
	s.gone = fmt.Sprintf("process: pid %d exited", s.target.PID)
	out.Gone, out.Errors = true, append(out.Errors, s.gone)
	return out
}

// dump lists the namespace's TCP sockets into s.sys.socks: all of them, or
// with the peer filter all but sockets that cannot be the SUT's. A filtered
// dump that misses one of the SUT's TCP sockets is done again unfiltered.
func (s *Sampler) dump(inodes map[uint32]int32) (partial bool, err error) {
	sys := s.sys
	if sys.diag == nil {
		sys.socks, err = readProcNet(s.target.PID, sys.socks)
		return false, err
	}
	bc := sys.filter.bytecode(s.layers, s.tracker)
	sys.socks, partial, err = sys.diag.dump(sys.socks, bc)
	if err != nil || sys.filter.update(s.target.PID, sys.socks, inodes, partial) || bc == nil {
		return partial, err
	}
	sys.socks, partial, err = sys.diag.dump(sys.socks, nil)
	if err == nil {
		sys.filter.update(s.target.PID, sys.socks, inodes, partial)
	}
	return partial, err
}

type goroutineResult struct {
	g    *record.Goroutines
	errs []string
}

// goroutines tries pprof, then metrics; the caller falls back to threads.
func (s *Sampler) goroutines(ctx context.Context) goroutineResult {
	var r goroutineResult
	if s.target.GoroutinesURL != "" {
		err := s.fetch.get(ctx, s.target.GoroutinesURL, func(body io.Reader) error {
			g, err := ParseGoroutines(body, s.topStacks)
			r.g = g
			return err
		})
		if err == nil {
			return r
		}
		r.g = nil
		r.errs = append(r.errs, "goroutines: pprof: "+err.Error())
	}
	if s.target.MetricsURL != "" {
		err := s.fetch.get(ctx, s.target.MetricsURL, func(body io.Reader) error {
			n, err := ParseGoGoroutines(body)
			if err == nil {
				r.g = &record.Goroutines{Total: n, Source: record.SourceMetrics}
			}
			return err
		})
		if err == nil {
			return r
		}
		r.errs = append(r.errs, "goroutines: metrics: "+err.Error())
	}
	return r
}

func (s *Sampler) close() []record.Conn {
	s.closed = true
	s.sys.fds.close()
	if s.sys.diag != nil {
		s.sys.diag.close()
		s.sys.diag = nil
	}
	if s.fetch != nil {
		s.fetch.close()
	}
	open := s.tracker.openAtEnd()
	if s.sys.kev != nil {
		open = append(open, s.sys.kev.close()...)
		s.sys.kev = nil
	}
	return open
}

// Fallback says why the sampler uses the proc method although netlink was
// not turned off, or "" when it does not.
func (s *Sampler) Fallback() string { return s.sys.fallback }

// FDMethod says how file descriptors are listed: record.FDSourceBPF or
// record.FDSourceProc.
func (s *Sampler) FDMethod() string { return s.sys.fds.source() }

// FDFallback says why /proc/PID/fd is read instead of the BPF iterator, or
// "" when it is not.
func (s *Sampler) FDFallback() string { return s.sys.fdsWhy }

// EventsMethod says which witness records connections' lives:
// record.WitnessKernelEvents, or "polling" (the tracker's samples only).
func (s *Sampler) EventsMethod() string {
	if s.sys.kev != nil {
		return record.WitnessKernelEvents
	}
	return EventsPolling
}

// EventsFallback says why the kernel event witness does not run although
// KernelEvents asked for it, or "".
func (s *Sampler) EventsFallback() string { return s.sys.kevWhy }
