package probes

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
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
	path string // root/PID/fd, for messages
	dir  int
	ents []byte // getdents buffer
	link []byte // readlink buffer; a longer target is cut, which the type prefix survives
}

func openFDReader(root procRoot, pid int) (*fdReader, error) {
	path := root.pid(pid, "fd")
	dir, err := unix.Open(path, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	return &fdReader{path: path, dir: dir, ents: make([]byte, 64<<10), link: make([]byte, 256)}, nil
}

func init() { registerSource(stageFDs, "fds", openFDSource) }

var _ source = (*fdSource)(nil)

// fdSource counts the process's file descriptors by type and collects its
// socket inodes for the sockets source.
type fdSource struct {
	s       *Sampler
	lister  fdLister
	why     string // why /proc/PID/fd is read, when BPF was tried and failed
	sockFDs int    // socket fds in the last sample: the next map's size
}

func openFDSource(s *Sampler) (source, error) {
	l, why, err := openFDLister(s.root, s.target.PID, s.sys.started, s.forceProc)
	if err != nil {
		return nil, accessError(s.root, s.target.PID, s.root.pid(s.target.PID, "fd"), err)
	}
	return &fdSource{s: s, lister: l, why: why}, nil
}

func (f *fdSource) start(_ context.Context, t *tick) {
	s := f.s
	t.inodes = make(map[uint32]int32, f.sockFDs)
	fds, err := f.lister.read(s.sys.proc, t.inodes)
	if err != nil && !errors.Is(err, fs.ErrNotExist) && f.lister.source() == record.FDSourceBPF {
		// The iterator failed where /proc may not: use /proc from now on.
		if r, oerr := openFDReader(s.root, s.target.PID); oerr == nil {
			t.out.Errors = append(t.out.Errors, "fds: BPF iterator failed, reading /proc/PID/fd from now on: "+err.Error())
			f.lister.close()
			f.lister, f.why = r, err.Error()
			clear(t.inodes)
			fds, err = r.read(s.sys.proc, t.inodes)
		}
	}
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			t.gone = true
			return
		}
		t.out.Errors = append(t.out.Errors, "fds: "+err.Error())
	}
	t.out.FDs = fds
	if fds != nil {
		f.sockFDs = len(t.inodes)
	}
}

func (f *fdSource) finish(context.Context, *tick) {}

func (f *fdSource) close() []record.Conn {
	f.lister.close()
	return nil
}

// openFDLister prefers the BPF iterator, which costs a fraction of
// /proc/PID/fd, and falls back to /proc/PID/fd, saying why.
func openFDLister(root procRoot, pid int, started uint64, forceProc bool) (fdLister, string, error) {
	why := "asked for /proc"
	if !forceProc {
		r, err := openBPFFDReader(pid, started)
		if err == nil {
			return r, "", nil
		}
		why = err.Error()
	}
	r, err := openFDReader(root, pid)
	if err != nil {
		return nil, "", err
	}
	return r, why, nil
}

// FDMethod says how file descriptors are listed: record.FDSourceBPF or
// record.FDSourceProc.
func (s *Sampler) FDMethod() string {
	if f := sourceOf[*fdSource](s); f != nil {
		return f.lister.source()
	}
	return ""
}

// FDFallback says why /proc/PID/fd is read instead of the BPF iterator, or
// "" when it is not.
func (s *Sampler) FDFallback() string {
	if f := sourceOf[*fdSource](s); f != nil {
		return f.why
	}
	return ""
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
		return nil, fmt.Errorf("read %s: %w", r.path, err)
	}
	fds := &record.FDs{ByType: map[string]int{}, Source: record.FDSourceProc}
	for {
		n, err := unix.Getdents(r.dir, r.ents)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", r.path, err)
		}
		if n == 0 {
			break
		}
		for b := r.ents[:n]; len(b) >= 19; {
			// struct linux_dirent64: ino u64, off s64, reclen u16, type u8, name NUL-terminated.
			reclen := int(*(*uint16)(unsafe.Pointer(&b[16])))
			if reclen < 20 || reclen > len(b) {
				return nil, fmt.Errorf("read %s: bad directory entry", r.path)
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
