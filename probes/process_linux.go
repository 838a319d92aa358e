package probes

import (
	"fmt"

	"github.com/prometheus/procfs"
	"github.com/soak-dev/soak/record"
)

// readProcess reads RSS, CPU time and threads from /proc/PID/stat, and says
// whether the process has exited: a zombie counts as exited, and so does a
// process with another start time (the pid was reused).
func readProcess(p procfs.Proc, started uint64) (*record.Process, bool, error) {
	st, err := p.Stat()
	if err != nil {
		return nil, false, fmt.Errorf("read /proc/%d/stat: %w", p.PID, err)
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
