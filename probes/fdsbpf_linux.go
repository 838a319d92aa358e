package probes

import (
	"encoding/binary"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"unsafe"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"github.com/cilium/ebpf/btf"
	"github.com/prometheus/procfs"
	"github.com/soak-dev/soak/record"
	"golang.org/x/sys/unix"
)

// bpfFDReader lists a process's file descriptors with a BPF task_file
// iterator: one read returns inode, mode and filesystem of every fd, where
// /proc/PID/fd costs a path walk and a d_path per fd (readlinkat) plus a
// dentry per entry (getdents): half of a sample's CPU at 10,000 sockets.
// The fds and inodes it reports are those /proc/PID/fd shows; their type
// comes from the inode instead of the link text (see fdTypeOf).
//
// It needs CAP_BPF and CAP_PERFMON (or root), kernel BTF and Linux 6.1+
// (the iterator's pid filter); without them the sampler reads /proc/PID/fd.
type bpfFDReader struct {
	pid     int
	started uint64 // start time in clock ticks: a record of another process is refused
	link    int
	buf     []byte
}

// fdRecordLen is the size of one record the program writes:
// inode u64, filesystem magic u64, task start_boottime u64, fd u32, mode u32.
const fdRecordLen = 32

// BPF commands and attach type (linux/bpf.h) for the link with a pid
// filter, which cilium/ebpf's link.AttachIter does not take.
const (
	bpfLinkCreate = 28
	bpfIterCreate = 33
)

func openBPFFDReader(pid int, started uint64) (*bpfFDReader, error) {
	prog, err := fdIteratorProgram()
	if err != nil {
		return nil, err
	}
	link, err := linkTaskIter(prog, pid)
	if err != nil {
		return nil, err
	}
	r := &bpfFDReader{pid: pid, started: started, link: link, buf: make([]byte, 64<<10)}
	// One read now: a kernel whose records do not match /proc's start time
	// (a time namespace, say) is left for /proc/PID/fd rather than read as
	// the process being gone at every tick.
	data, err := r.iterate()
	if err == nil && len(data) >= fdRecordLen && binary.NativeEndian.Uint64(data[16:])/1e7 != started {
		err = fmt.Errorf("BPF fd iterator: start time of pid %d is %d ticks, /proc says %d",
			pid, binary.NativeEndian.Uint64(data[16:])/1e7, started)
	}
	if err != nil {
		r.close()
		return nil, err
	}
	return r, nil
}

func (r *bpfFDReader) close() {
	if r.link >= 0 {
		unix.Close(r.link)
		r.link = -1
	}
}

var (
	fdProgOnce sync.Once
	fdProg     *ebpf.Program
	fdProgErr  error
)

// fdIteratorProgram loads the program once for all samplers of the
// process (it does not depend on the pid: each sampler's link names one);
// it stays loaded for the process's life.
func fdIteratorProgram() (*ebpf.Program, error) {
	fdProgOnce.Do(func() {
		off, err := kernelOffsets()
		if err != nil {
			fdProgErr = err
			return
		}
		fdProg, err = ebpf.NewProgram(&ebpf.ProgramSpec{
			Name:       "soak_fds",
			Type:       ebpf.Tracing,
			AttachType: ebpf.AttachTraceIter,
			AttachTo:   "task_file",
			// bpf_seq_write is GPL-only: the kernel wants a GPL-compatible license.
			License:      "Dual MIT/GPL",
			Instructions: fdProgram(off),
		})
		switch {
		case errors.Is(err, unix.EPERM):
			fdProgErr = fmt.Errorf("load BPF fd iterator: %w: needs CAP_BPF and CAP_PERFMON (or root)", unix.EPERM)
		case err != nil:
			fdProgErr = fmt.Errorf("load BPF fd iterator: %w", err)
		}
		runtime.GC() // let the parsed kernel BTF go now, not at the next cycle
	})
	return fdProg, fdProgErr
}

// source names the method in samples and meta.json.
func (r *bpfFDReader) source() string { return record.FDSourceBPF }

// read counts the process's fds by type and adds its socket inodes, with
// their fd numbers, to inodes. A process that exited, or whose pid now
// names another process, reads fs.ErrNotExist.
func (r *bpfFDReader) read(p procfs.Proc, inodes map[uint32]int32) (*record.FDs, error) {
	data, err := r.iterate()
	if err != nil {
		return nil, err
	}
	fds := &record.FDs{ByType: map[string]int{}, Source: record.FDSourceBPF}
	le := binary.NativeEndian
	for ; len(data) >= fdRecordLen; data = data[fdRecordLen:] {
		ino, magic, start := le.Uint64(data), le.Uint64(data[8:]), le.Uint64(data[16:])
		fd, mode := le.Uint32(data[24:]), le.Uint32(data[28:])
		// proc's starttime is start_boottime in USER_HZ (100) ticks.
		if start/1e7 != r.started {
			return nil, fmt.Errorf("read fds of pid %d: pid names another process: %w", r.pid, unix.ENOENT)
		}
		typ := fdTypeOf(mode, magic)
		fds.Total++
		fds.ByType[typ]++
		if typ == record.FDSocket && ino <= 1<<32-1 {
			inodes[uint32(ino)] = int32(fd)
		}
	}
	if fds.Total == 0 {
		// No record: the process has no fd, or is gone.
		if st, err := p.Stat(); err != nil || st.Starttime != r.started {
			return nil, fmt.Errorf("read fds of pid %d: process exited: %w", r.pid, unix.ENOENT)
		}
	}
	if l, err := p.Limits(); err == nil && l.OpenFiles > 0 {
		fds.Limit = uint64(l.OpenFiles)
	}
	return fds, nil
}

// iterate runs the iterator once and returns its records, in r.buf.
func (r *bpfFDReader) iterate() ([]byte, error) {
	attr := [8]uint32{uint32(r.link)} // iter_create: link_fd, flags
	fd, _, errno := unix.Syscall(unix.SYS_BPF, bpfIterCreate, uintptr(unsafe.Pointer(&attr[0])), unsafe.Sizeof(attr))
	if errno != 0 {
		return nil, fmt.Errorf("read fds of pid %d: create BPF iterator: %w", r.pid, errno)
	}
	defer unix.Close(int(fd))
	n := 0
	for {
		if n == len(r.buf) {
			r.buf = append(r.buf, make([]byte, len(r.buf))...)
		}
		m, err := unix.Read(int(fd), r.buf[n:])
		if errors.Is(err, unix.EINTR) || errors.Is(err, unix.EAGAIN) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("read fds of pid %d: read BPF iterator: %w", r.pid, err)
		}
		if m == 0 {
			return r.buf[:n], nil
		}
		n += m
	}
}

// Filesystem magics (linux/magic.h) that name an fd's type by themselves.
const (
	sockfsMagic    = 0x534F434B
	pipefsMagic    = 0x50495045
	anonInodeMagic = 0x09041934
	pidfsMagic     = 0x50494446 // pidfds since Linux 6.9; /proc shows them as anon_inode:[pidfd]
	nsfsMagic      = 0x6e736673 // namespace fds; /proc shows net:[...] and the like
)

// fdTypeOf classifies an fd by its inode as /proc/PID/fd's link text does
// (fdType): sockets, anonymous pipes and anon inodes by their filesystem,
// devices as other, and what has a path (files, directories, named FIFOs)
// as files. One difference: a regular file under /dev (e.g. /dev/shm) is a
// file here and "other" from its link text.
func fdTypeOf(mode uint32, magic uint64) string {
	switch magic {
	case sockfsMagic:
		return record.FDSocket
	case pipefsMagic:
		return record.FDPipe
	case anonInodeMagic, pidfsMagic:
		return record.FDAnon
	case nsfsMagic:
		return record.FDOther
	}
	switch mode & unix.S_IFMT {
	case unix.S_IFREG, unix.S_IFDIR, unix.S_IFLNK, unix.S_IFIFO, unix.S_IFSOCK:
		return record.FDFile
	case 0:
		return record.FDAnon // an anon inode of a filesystem of its own (no file type bits)
	}
	return record.FDOther // devices
}

// fieldOffsets are the byte offsets the program reads, taken from the
// running kernel's BTF: the role CO-RE relocations play for compiled
// programs. The program is assembled here because the machines that build
// soak have Go and no clang; it is 28 instructions.
type fieldOffsets struct {
	fileInode, inodeIno, inodeMode, inodeSb, sbMagic, taskStart, taskPid, taskTgid int16
}

// kernelOffsets reads the kernel's BTF (called once, by
// fdIteratorProgram; the parsed types, tens of MiB, are not kept).
func kernelOffsets() (fieldOffsets, error) {
	var o fieldOffsets
	spec, err := btf.LoadKernelSpec()
	if err != nil {
		return o, fmt.Errorf("read kernel BTF: %w", err)
	}
	for _, f := range []struct {
		dst        *int16
		typ, field string
	}{
		{&o.fileInode, "file", "f_inode"},
		{&o.inodeIno, "inode", "i_ino"},
		{&o.inodeMode, "inode", "i_mode"},
		{&o.inodeSb, "inode", "i_sb"},
		{&o.sbMagic, "super_block", "s_magic"},
		{&o.taskStart, "task_struct", "start_boottime"},
		{&o.taskPid, "task_struct", "pid"},
		{&o.taskTgid, "task_struct", "tgid"},
	} {
		if *f.dst, err = memberOffset(spec, f.typ, f.field); err != nil {
			return o, err
		}
	}
	// Before Linux 6.1 the link's pid filter does not exist and is
	// ignored: the iterator would walk every process's files.
	var info *btf.Union
	if err := spec.TypeByName("bpf_iter_link_info", &info); err != nil {
		return o, fmt.Errorf("kernel BTF: union bpf_iter_link_info: %w", err)
	}
	if _, ok := findMember(info.Members, "task", 0); !ok {
		return o, errors.New("kernel without the BPF task iterator's pid filter (Linux 6.1+)")
	}
	return o, nil
}

// memberOffset finds a member of a struct, also inside anonymous members.
func memberOffset(spec *btf.Spec, typ, field string) (int16, error) {
	var s *btf.Struct
	if err := spec.TypeByName(typ, &s); err != nil {
		return 0, fmt.Errorf("kernel BTF: struct %s: %w", typ, err)
	}
	if off, ok := findMember(s.Members, field, 0); ok && off < 1<<15 {
		return int16(off), nil
	}
	return 0, fmt.Errorf("kernel BTF: struct %s has no member %s", typ, field)
}

func findMember(members []btf.Member, field string, base uint32) (uint32, bool) {
	for _, m := range members {
		off := base + uint32(m.Offset)/8
		if m.Name == field {
			return off, m.BitfieldSize == 0
		}
		if m.Name != "" {
			continue
		}
		switch t := btf.UnderlyingType(m.Type).(type) {
		case *btf.Struct:
			if o, ok := findMember(t.Members, field, off); ok {
				return o, true
			}
		case *btf.Union:
			if o, ok := findMember(t.Members, field, off); ok {
				return o, true
			}
		}
	}
	return 0, false
}

// fdProgram writes one record per fd of the process the link names. The
// context is struct bpf_iter__task_file: meta at 0, task at 8, fd at 16,
// file at 24. Only the thread group leader's files are written: they are
// what /proc/PID/fd shows, and an iterator may also visit threads that
// share them.
func fdProgram(o fieldOffsets) asm.Instructions {
	return asm.Instructions{
		asm.Mov.Reg(asm.R6, asm.R1),
		asm.LoadMem(asm.R7, asm.R6, 24, asm.DWord), // file
		asm.JEq.Imm(asm.R7, 0, "out"),
		asm.LoadMem(asm.R8, asm.R6, 8, asm.DWord), // task
		asm.JEq.Imm(asm.R8, 0, "out"),
		asm.LoadMem(asm.R2, asm.R8, o.taskPid, asm.Word),
		asm.LoadMem(asm.R3, asm.R8, o.taskTgid, asm.Word),
		asm.JNE.Reg(asm.R2, asm.R3, "out"),
		asm.LoadMem(asm.R2, asm.R8, o.taskStart, asm.DWord),
		asm.StoreMem(asm.RFP, -16, asm.R2, asm.DWord),
		asm.LoadMem(asm.R2, asm.R6, 16, asm.DWord), // fd
		asm.StoreMem(asm.RFP, -8, asm.R2, asm.Word),
		asm.LoadMem(asm.R3, asm.R7, o.fileInode, asm.DWord),
		asm.LoadMem(asm.R2, asm.R3, o.inodeIno, asm.DWord),
		asm.StoreMem(asm.RFP, -32, asm.R2, asm.DWord),
		asm.LoadMem(asm.R2, asm.R3, o.inodeMode, asm.Half),
		asm.StoreMem(asm.RFP, -4, asm.R2, asm.Word),
		asm.LoadMem(asm.R3, asm.R3, o.inodeSb, asm.DWord),
		asm.LoadMem(asm.R2, asm.R3, o.sbMagic, asm.DWord),
		asm.StoreMem(asm.RFP, -24, asm.R2, asm.DWord),
		asm.LoadMem(asm.R1, asm.R6, 0, asm.DWord), // meta
		asm.LoadMem(asm.R1, asm.R1, 0, asm.DWord), // meta->seq
		asm.Mov.Reg(asm.R2, asm.RFP),
		asm.Add.Imm(asm.R2, -fdRecordLen),
		asm.Mov.Imm(asm.R3, fdRecordLen),
		asm.FnSeqWrite.Call(),
		asm.Mov.Imm(asm.R0, 0).WithSymbol("out"),
		asm.Return(),
	}
}

// linkTaskIter attaches prog as an iterator over the files of process pid
// only (union bpf_iter_link_info: task.tid, task.pid, task.pid_fd).
func linkTaskIter(prog *ebpf.Program, pid int) (int, error) {
	var info [4]uint32
	info[1] = uint32(pid)
	// bpf_attr.link_create: prog_fd, target_fd, attach_type, flags, iter_info (u64), iter_info_len.
	var attr [8]uint32
	attr[0] = uint32(prog.FD())
	attr[2] = uint32(ebpf.AttachTraceIter)
	*(*uint64)(unsafe.Pointer(&attr[4])) = uint64(uintptr(unsafe.Pointer(&info[0])))
	attr[6] = uint32(unsafe.Sizeof(info))
	fd, _, errno := unix.Syscall(unix.SYS_BPF, bpfLinkCreate, uintptr(unsafe.Pointer(&attr[0])), unsafe.Sizeof(attr))
	runtime.KeepAlive(info)
	if errno != 0 {
		return -1, fmt.Errorf("attach BPF fd iterator to pid %d: %w", pid, errno)
	}
	return int(fd), nil
}
