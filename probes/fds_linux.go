package probes

import (
	"bytes"
	"errors"
	"fmt"
	"unsafe"

	"github.com/prometheus/procfs"
	"github.com/soak-dev/soak/record"
	"golang.org/x/sys/unix"
)

// fdReader lists a process's file descriptors through /proc/PID/fd, kept
// open for the sampler's life: getdents into one buffer and a readlinkat
// per fd relative to that directory, so a tick allocates nothing per fd and
// the kernel resolves a one-component name instead of /proc/PID/fd/N.
// The open directory stays bound to the process it was opened for: once
// that process is gone it reads ENOENT, even if the pid is reused.
type fdReader struct {
	pid  int
	dir  int
	ents []byte // getdents buffer
	link []byte // readlink buffer; a longer target is cut, which the type prefix survives
}

func openFDReader(pid int) (*fdReader, error) {
	dir, err := unix.Open(fmt.Sprintf("/proc/%d/fd", pid), unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	return &fdReader{pid: pid, dir: dir, ents: make([]byte, 64<<10), link: make([]byte, 256)}, nil
}

// fdLister lists a process's file descriptors: fdReader through
// /proc/PID/fd, bpfFDReader through a BPF iterator.
type fdLister interface {
	// read counts the fds by type and adds socket inodes, with their fd
	// numbers, to inodes; fs.ErrNotExist once the process is gone.
	read(p procfs.Proc, inodes map[uint32]int32) (*record.FDs, error)
	source() string
	close()
}

// source names the method in samples and meta.json.
func (r *fdReader) source() string { return record.FDSourceProc }

func (r *fdReader) close() {
	if r.dir >= 0 {
		unix.Close(r.dir)
		r.dir = -1
	}
}

// read counts the process's file descriptors by type and adds its socket
// inodes, with their fd numbers, to inodes (to join with the socket dump).
func (r *fdReader) read(p procfs.Proc, inodes map[uint32]int32) (*record.FDs, error) {
	if _, err := unix.Seek(r.dir, 0, 0); err != nil {
		return nil, fmt.Errorf("read /proc/%d/fd: %w", r.pid, err)
	}
	fds := &record.FDs{ByType: map[string]int{}, Source: record.FDSourceProc}
	for {
		n, err := unix.Getdents(r.dir, r.ents)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("read /proc/%d/fd: %w", r.pid, err)
		}
		if n == 0 {
			break
		}
		for b := r.ents[:n]; len(b) >= 19; {
			// struct linux_dirent64: ino u64, off s64, reclen u16, type u8, name NUL-terminated.
			reclen := int(*(*uint16)(unsafe.Pointer(&b[16])))
			if reclen < 20 || reclen > len(b) {
				return nil, fmt.Errorf("read /proc/%d/fd: bad directory entry", r.pid)
			}
			name := b[19:reclen]
			b = b[reclen:]
			if name[0] == '.' {
				continue // . and ..
			}
			fds.Total++
			t := r.readlink(name)
			typ := fdType(t)
			fds.ByType[typ]++
			if typ == record.FDSocket {
				if ino, ok := socketInode(t); ok {
					inodes[ino] = fdNumber(name)
				}
			}
		}
	}
	if l, err := p.Limits(); err == nil && l.OpenFiles > 0 {
		fds.Limit = uint64(l.OpenFiles)
	}
	return fds, nil
}

// readlink reads the target of one fd, name being NUL-terminated as
// getdents leaves it; "" when the fd was closed since the directory read.
func (r *fdReader) readlink(name []byte) []byte {
	n, _, errno := unix.Syscall6(unix.SYS_READLINKAT, uintptr(r.dir), uintptr(unsafe.Pointer(&name[0])),
		uintptr(unsafe.Pointer(&r.link[0])), uintptr(len(r.link)), 0, 0)
	if errno != 0 {
		return nil
	}
	return r.link[:n]
}

// fdNumber parses a NUL-terminated fd directory entry name.
func fdNumber(name []byte) int32 {
	var n int32
	for _, c := range name {
		if c < '0' || c > '9' {
			break
		}
		n = n*10 + int32(c-'0')
	}
	return n
}

// fdType classifies a /proc/PID/fd link target. An fd closed between the
// directory read and the readlink has target "" and counts as other.
func fdType(t []byte) string {
	switch {
	case bytes.HasPrefix(t, []byte("socket:[")):
		return record.FDSocket
	case bytes.HasPrefix(t, []byte("pipe:[")):
		return record.FDPipe
	case bytes.HasPrefix(t, []byte("anon_inode:")):
		return record.FDAnon
	case bytes.HasPrefix(t, []byte("/dev/")):
		return record.FDOther
	case bytes.HasPrefix(t, []byte("/")):
		return record.FDFile
	}
	return record.FDOther
}

// socketInode parses the inode of "socket:[12345]".
func socketInode(t []byte) (uint32, bool) {
	s, ok := bytes.CutPrefix(t, []byte("socket:["))
	if !ok || len(s) < 2 || s[len(s)-1] != ']' {
		return 0, false
	}
	var n uint64
	for _, c := range s[:len(s)-1] {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + uint64(c-'0')
		if n > 1<<32-1 {
			return 0, false
		}
	}
	return uint32(n), true
}
