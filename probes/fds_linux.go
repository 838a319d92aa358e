package probes

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/prometheus/procfs"
	"github.com/soak-dev/soak/record"
)

// readFDs counts the process's file descriptors by type and collects its
// socket inodes (to join with the socket dump).
func readFDs(p procfs.Proc, inodes map[uint32]bool) (*record.FDs, error) {
	targets, err := p.FileDescriptorTargets()
	if err != nil {
		return nil, fmt.Errorf("read /proc/%d/fd: %w", p.PID, err)
	}
	fds := &record.FDs{Total: len(targets), ByType: map[string]int{}}
	for _, t := range targets {
		typ := fdType(t)
		fds.ByType[typ]++
		if typ == record.FDSocket {
			if n, ok := socketInode(t); ok {
				inodes[n] = true
			}
		}
	}
	if l, err := p.Limits(); err == nil && l.OpenFiles > 0 {
		fds.Limit = uint64(l.OpenFiles)
	}
	return fds, nil
}

// fdType classifies a /proc/PID/fd link target. An fd closed between the
// directory read and the readlink has target "" and counts as other.
func fdType(t string) string {
	switch {
	case strings.HasPrefix(t, "socket:["):
		return record.FDSocket
	case strings.HasPrefix(t, "pipe:["):
		return record.FDPipe
	case strings.HasPrefix(t, "anon_inode:"):
		return record.FDAnon
	case strings.HasPrefix(t, "/dev/"):
		return record.FDOther
	case strings.HasPrefix(t, "/"):
		return record.FDFile
	}
	return record.FDOther
}

func socketInode(t string) (uint32, bool) {
	s := strings.TrimSuffix(strings.TrimPrefix(t, "socket:["), "]")
	n, err := strconv.ParseUint(s, 10, 32)
	return uint32(n), err == nil
}
