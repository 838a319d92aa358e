//go:build unix

package load

import (
	"fmt"
	"syscall"
)

// raiseNoFile raises RLIMIT_NOFILE's soft limit to the hard limit and
// returns both as they were before (soft) and are now (hard).
func raiseNoFile() (soft, hard uint64, err error) {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		return 0, 0, fmt.Errorf("read open-file limit: %w", err)
	}
	soft, hard = uint64(rl.Cur), uint64(rl.Max)
	if rl.Cur < rl.Max {
		rl.Cur = rl.Max
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
			return soft, soft, fmt.Errorf("raise open-file limit to %d: %w", rl.Max, err)
		}
	}
	return soft, hard, nil
}
