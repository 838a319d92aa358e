package sut

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// tree keeps a started node's whole process tree together, so that no
// process of it (a server a wrapper script started, one that called
// setsid) outlives the node's stop or soak itself. Two kernel features do
// it, each used when available:
//
//   - a PID namespace whose init is the node command: when the node exits,
//     or gets Pdeathsig's SIGKILL because soak died (even by SIGKILL), the
//     kernel kills every process in the namespace. Needs CAP_SYS_ADMIN.
//   - a cgroup v2 per node, entered at clone (CLONE_INTO_CGROUP) so no
//     fork escapes it; Stop and the node's exit kill it as a whole with
//     cgroup.kill. Needs a writable cgroup v2 (root, or a delegated
//     subtree) and Linux 5.14.
//
// Without either, only the node's process group gets SIGTERM/SIGKILL and
// only its first process gets Pdeathsig: a process that leaves the group
// can outlive soak. fallback says so.
type tree struct {
	mu       sync.Mutex // Stop signals while the waiter releases
	pidNS    bool
	cgroup   string   // this node's cgroup directory; "" when none
	cgFD     *os.File // open on cgroup, for CLONE_INTO_CGROUP
	missing  []string // what is not available, and why
	released bool
}

// cgroupPrefix starts the name of every per-node cgroup soak makes, followed
// by soak's pid, so a later soak can remove those of a soak that was killed.
const cgroupPrefix = "soak-"

// newTree prepares the containment of one node; it never fails, it only
// records what is missing.
func newTree(node string) *tree {
	t := &tree{pidNS: true}
	parent, err := ownCgroupDir()
	if err != nil {
		t.missing = append(t.missing, "cgroup v2: "+err.Error())
		return t
	}
	removeStaleCgroups(parent)
	dir := filepath.Join(parent, fmt.Sprintf("%s%d-%s-%d", cgroupPrefix, os.Getpid(), safeName(node), time.Now().UnixNano()))
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.missing = append(t.missing, "cgroup v2: "+err.Error())
		return t
	}
	if _, err := os.Stat(filepath.Join(dir, "cgroup.kill")); err != nil {
		_ = os.Remove(dir)
		t.missing = append(t.missing, "cgroup v2: no cgroup.kill (Linux 5.14 or later)")
		return t
	}
	f, err := os.Open(dir)
	if err != nil {
		_ = os.Remove(dir)
		t.missing = append(t.missing, "cgroup v2: "+err.Error())
		return t
	}
	t.cgroup, t.cgFD = dir, f
	return t
}

// apply sets what the tree uses on the node's SysProcAttr.
func (t *tree) apply(a *syscall.SysProcAttr) {
	if t.pidNS {
		a.Cloneflags |= syscall.CLONE_NEWPID
	}
	if t.cgFD != nil {
		a.UseCgroupFD, a.CgroupFD = true, int(t.cgFD.Fd())
	}
}

// degrade drops one feature after a failed start, the PID namespace first,
// and reports whether there is anything left to drop (so a retry can differ).
func (t *tree) degrade(err error) bool {
	switch {
	case t.pidNS:
		t.pidNS = false
		t.missing = append(t.missing, "PID namespace: "+err.Error())
		return true
	case t.cgFD != nil:
		t.missing = append(t.missing, "cgroup v2: "+err.Error())
		t.removeCgroup()
		return true
	}
	return false
}

// Fallback says what protection against orphans is missing, or "" when the
// node runs in its own PID namespace and cgroup.
func (t *tree) fallback() string {
	if t.pidNS && t.cgroup != "" {
		return ""
	}
	have := "only the process group is signalled and only the node's first process has Pdeathsig"
	if t.pidNS {
		have = "a PID namespace still kills the node's processes with it and with soak"
	} else if t.cgroup != "" {
		have = "its cgroup is killed at stop, but if soak itself is SIGKILLed a process that left the node's process group survives"
	}
	return fmt.Sprintf("%s; %s", strings.Join(t.missing, "; "), have)
}

// signal sends sig to every process in the node's cgroup (a process that
// called setsid is no longer in the process group, but is still here).
func (t *tree) signal(sig syscall.Signal) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.cgroup == "" {
		return
	}
	b, err := os.ReadFile(filepath.Join(t.cgroup, "cgroup.procs"))
	if err != nil {
		return
	}
	for _, f := range strings.Fields(string(b)) {
		if pid, err := strconv.Atoi(f); err == nil && pid > 0 {
			_ = syscall.Kill(pid, sig)
		}
	}
}

// release kills whatever is left of the tree and removes its cgroup. Called
// once the node's first process has exited.
func (t *tree) release() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.released {
		return
	}
	t.released = true
	t.removeCgroup()
}

func (t *tree) removeCgroup() {
	if t.cgFD != nil {
		t.cgFD.Close()
		t.cgFD = nil
	}
	if t.cgroup == "" {
		return
	}
	killCgroup(t.cgroup)
	t.cgroup = ""
}

// killCgroup kills every process in dir, waits (up to 5 s) until the kernel
// says it is empty, and removes it.
func killCgroup(dir string) {
	_ = os.WriteFile(filepath.Join(dir, "cgroup.kill"), []byte("1"), 0)
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if !populated(dir) {
			break
		}
	}
	_ = os.Remove(dir)
}

func populated(dir string) bool {
	b, err := os.ReadFile(filepath.Join(dir, "cgroup.events"))
	if err != nil {
		return false
	}
	return bytes.Contains(b, []byte("populated 1"))
}

// removeStaleCgroups kills and removes the node cgroups of a soak that is
// gone (killed before it could remove them), so their processes end now.
func removeStaleCgroups(parent string) {
	entries, err := os.ReadDir(parent)
	if err != nil {
		return
	}
	for _, e := range entries {
		rest, ok := strings.CutPrefix(e.Name(), cgroupPrefix)
		if !ok || !e.IsDir() {
			continue
		}
		pidStr, _, _ := strings.Cut(rest, "-")
		pid, err := strconv.Atoi(pidStr)
		if err != nil || pid == os.Getpid() || alive(pid) {
			continue
		}
		killCgroup(filepath.Join(parent, e.Name()))
	}
}

// ownCgroupDir returns the directory of this process's cgroup v2, which must
// be writable (root, or a subtree delegated to this user).
func ownCgroupDir() (string, error) {
	b, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		return "", err
	}
	var rel string
	found := false
	for line := range strings.Lines(string(b)) {
		if p, ok := strings.CutPrefix(strings.TrimSpace(line), "0::"); ok {
			rel, found = p, true
		}
	}
	if !found {
		return "", errors.New("this process is in no cgroup v2 hierarchy")
	}
	mnt, err := cgroup2Mount()
	if err != nil {
		return "", err
	}
	dir := filepath.Join(mnt, rel)
	if err := syscall.Access(dir, 2 /* W_OK */); err != nil {
		return "", fmt.Errorf("%s is not writable (%w): run as root or delegate a cgroup to this user", dir, err)
	}
	return dir, nil
}

// cgroup2Mount finds where the cgroup v2 hierarchy is mounted:
// /sys/fs/cgroup on most systems, /sys/fs/cgroup/unified in hybrid mode.
func cgroup2Mount() (string, error) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return "", err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTS... - FSTYPE SOURCE SUPEROPTS
		pre, post, ok := strings.Cut(sc.Text(), " - ")
		if !ok || !strings.HasPrefix(post, "cgroup2 ") {
			continue
		}
		if f := strings.Fields(pre); len(f) >= 5 && f[3] == "/" {
			return f[4], nil
		}
	}
	return "", errors.New("no cgroup v2 file system is mounted")
}

// safeName keeps a node name usable in a cgroup directory name.
func safeName(s string) string {
	s = strings.Map(func(r rune) rune {
		if r == '/' || r < ' ' || r == 0x7f {
			return '_'
		}
		return r
	}, s)
	if len(s) > 64 {
		s = s[:64]
	}
	return s
}
