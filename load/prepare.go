package load

import (
	"fmt"
	"strconv"

	"github.com/soak-dev/soak/scenarios"
)

// fdReserve is how many descriptors soak keeps for itself besides the
// load's connections (run directory files, probes, backends, logs).
const fdReserve = 256

// Prepare raises the process's RLIMIT_NOFILE soft limit to the hard limit
// and checks that every phase of sc fits in it. note says what it did; the
// error, returned before any load starts, says what to do.
func Prepare(sc *scenarios.Scenario) (note string, err error) {
	soft, hard, err := raiseNoFile()
	if err != nil {
		return "", err
	}
	if soft < hard {
		note = fmt.Sprintf("open-file limit raised from %s to %s", group(soft), group(hard))
	} else {
		note = fmt.Sprintf("open-file limit %s", group(hard))
	}
	if sc == nil {
		return note, nil
	}
	for _, p := range sc.Phases {
		need := p.MaxConnections()
		if uint64(need)+fdReserve > hard {
			may := uint64(0)
			if hard > fdReserve {
				may = hard - fdReserve
			}
			return note, fmt.Errorf("phase %s needs %s connections; this process may open %s: raise 'ulimit -n'",
				p.Name, group(uint64(need)), group(may))
		}
	}
	return note, nil
}

// group writes n with thousands separators: 20,000.
func group(n uint64) string {
	s := strconv.FormatUint(n, 10)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
