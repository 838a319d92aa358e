package probes

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"time"

	"github.com/prometheus/procfs"
	"github.com/soak-dev/soak/record"
)

// sysState is the Linux part of a Sampler: the process's identity, which
// every source shares.
type sysState struct {
	proc    procfs.Proc
	started uint64 // start time in clock ticks after boot: tells a reused pid apart
	netns   string
	otherNS bool
}

func newSampler(t Target, opts ...Option) (*Sampler, error) {
	if t.PID <= 0 {
		return nil, fmt.Errorf("probes: bad pid %d", t.PID)
	}
	s := &Sampler{target: t, root: DefaultProcRoot, fetchTimeout: DefaultFetchTimeout, topStacks: DefaultTopStacks}
	for _, o := range opts {
		o(s)
	}
	fsys, err := procfs.NewFS(string(s.root))
	if err != nil {
		return nil, fmt.Errorf("probes: %w", err)
	}
	p, err := fsys.Proc(t.PID)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("probes: no process with pid %d", t.PID)
		}
		return nil, fmt.Errorf("probes: open %s: %w", s.root.pid(t.PID), err)
	}
	if _, err := os.ReadDir(s.root.pid(t.PID, "fd")); err != nil {
		return nil, accessError(s.root, t.PID, s.root.pid(t.PID, "fd"), err)
	}
	st, err := p.Stat()
	if err != nil {
		return nil, accessError(s.root, t.PID, s.root.pid(t.PID, "stat"), err)
	}
	sys := &sysState{proc: p, started: st.Starttime}
	if sys.netns, err = netNS(s.root.pid(t.PID, "ns", "net")); err != nil {
		return nil, accessError(s.root, t.PID, s.root.pid(t.PID, "ns", "net"), err)
	}
	self, err := netNS(s.root.self("ns", "net"))
	if err != nil {
		return nil, fmt.Errorf("probes: %w", err)
	}
	sys.otherNS = self != sys.netns
	s.sys = sys
	s.method = record.MethodProc
	s.layers = newLayerSet(t.Layers)
	s.tracker = newTracker(t.Node)
	if t.GoroutinesURL != "" || t.MetricsURL != "" {
		s.fetch = newFetcher(s.fetchTimeout, s.soaks)
	}
	for _, k := range sourceKinds {
		src, err := k.open(s)
		if err != nil {
			s.close()
			return nil, err
		}
		if src != nil {
			s.sources = append(s.sources, src)
			s.names = append(s.names, k.name)
		}
	}
	s.took = make([]time.Duration, len(s.sources))
	return s, nil
}

// accessError explains a /proc entry the prober may not read.
func accessError(root procRoot, pid int, path string, err error) error {
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("probes: no process with pid %d", pid)
	case errors.Is(err, fs.ErrPermission):
		fi, serr := os.Stat(root.pid(pid))
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
		// Both: /proc/PID/fd is a directory of mode 0500 of the SUT's user
		// (DAC_READ_SEARCH to list it), its links and ns/net need ptrace
		// read access (SYS_PTRACE); measured, docs/distributed.md.
		return fmt.Errorf("probes: cannot read %s%s: %w; run soak as the same user as the SUT, "+
			"as root, or with CAP_SYS_PTRACE and CAP_DAC_READ_SEARCH (setcap cap_sys_ptrace,cap_dac_read_search+ep $(which soak))", path, owner, err)
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
	t := &tick{now: now, out: &out}
	for i := range s.took {
		s.took[i] = -1 // not reached
	}
	started := 0
	for i, src := range s.sources {
		begin := time.Now()
		src.start(ctx, t)
		s.took[i] = time.Since(begin)
		started++
		if t.gone {
			break
		}
	}
	for i, src := range s.sources[:started] {
		begin := time.Now()
		src.finish(ctx, t)
		s.took[i] += time.Since(begin)
	}
	if t.gone {
		return s.markGone(out), nil
	}
	if ctx.Err() != nil {
		out.Errors = append(out.Errors, "sample: "+ctx.Err().Error())
	}
	return out, t.ended
}

func (s *Sampler) markGone(out record.Sample) record.Sample {
	s.gone = fmt.Sprintf("process: pid %d exited", s.target.PID)
	out.Gone, out.Errors = true, append(out.Errors, s.gone)
	return out
}

func (s *Sampler) close() []record.Conn {
	s.closed = true
	var open []record.Conn
	for _, src := range s.sources {
		open = append(open, src.close()...)
	}
	if s.fetch != nil {
		s.fetch.close()
	}
	fillOpenIdle(open)
	return open
}

// fillOpenIdle gives the kernel event witness's connections still open at
// the end the longest idle the samples saw on the same socket: the events
// carry idle times only at a close, and an open connection's figure is
// the lower bound of the layer's idle timeout (0 would say nothing).
func fillOpenIdle(open []record.Conn) {
	seen := map[[2]string]int64{}
	for _, c := range open {
		if c.Witness == record.WitnessKernel {
			seen[[2]string{c.Local, c.Remote}] = c.MaxIdleMs
		}
	}
	for i := range open {
		c := &open[i]
		if c.Witness == record.WitnessKernelEvents && c.ClosedBy == record.OpenAtEnd && c.MaxIdleMs == 0 {
			c.MaxIdleMs = seen[[2]string{c.Local, c.Remote}]
		}
	}
}
