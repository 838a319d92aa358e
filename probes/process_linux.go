package probes

import (
	"context"
	"errors"
	"fmt"
	"io/fs"

	"github.com/prometheus/procfs"
	"github.com/soak-dev/soak/record"
)

func init() {
	registerSource(stageProcess, "process", func(s *Sampler) (source, error) { return &processSource{s: s}, nil })
}

var _ source = (*processSource)(nil)

// processSource reads the process's facts (RSS, CPU, threads) and tells
// whether it has exited: the first thing a tick learns.
type processSource struct{ s *Sampler }

func (p *processSource) start(_ context.Context, t *tick) {
	proc, exited, err := readProcess(p.s.sys.proc, p.s.sys.started)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		t.out.Errors = append(t.out.Errors, "process: "+err.Error())
	}
	if exited || errors.Is(err, fs.ErrNotExist) {
		t.gone = true
		return
	}
	t.out.Process = proc
}

func (p *processSource) finish(context.Context, *tick) {}

func (p *processSource) close() []record.Conn { return nil }

// readProcess reads RSS, CPU time and threads from /proc/PID/stat, and says
// whether the process has exited: a zombie counts as exited, and so does a
// process with another start time (the pid was reused).
func readProcess(p procfs.Proc, started uint64) (*record.Process, bool, error) {
	st, err := p.Stat()
	if err != nil {
		return nil, false, fmt.Errorf("read stat of pid %d: %w", p.PID, err)
	}
	if st.State == "Z" || st.State == "X" || st.Starttime != started {
		return nil, true, nil
	}
	return &record.Process{
		RSS:        uint64(st.ResidentMemory()),
		CPUSeconds: st.CPUTime(),
		Threads:    st.NumThreads,
	}, false, nil
}
