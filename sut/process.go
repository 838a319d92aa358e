package sut

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Spec says how to start one node.
type Spec struct {
	Name    string
	Argv    []string
	Env     []string // added to soak's environment
	Dir     string
	LogPath string // stdout and stderr go here
	// LogFile, when set, is LogPath already opened for reading and writing
	// by the caller (the runner opens it through the run directory's
	// os.Root, so a symlink there cannot redirect it); Start takes it over.
	LogFile *os.File
	// LogLimit bounds the log file in bytes (0: DefaultLogLimit); past it
	// the head and the last DefaultLogTail bytes (at most half of it) are
	// kept, with a note of what was dropped.
	LogLimit int64
	// Unset names variables of soak's environment not passed on; "*": none is.
	Unset []string
	// BaseDir is what a relative command path (./my-server, bin/x: one
	// with a slash) resolves against: the scenario file's folder, so a
	// scenario next to its binary finds it. Empty: Dir. A bare name is
	// looked up in $PATH.
	BaseDir string
}

// Process is a running node, started by soak or attached to.
type Process struct {
	Name     string
	PID      int
	Attached bool
	LogPath  string

	// Fallback says what protection against orphan processes this node
	// lacks (see tree), or is "" when it has a PID namespace and a cgroup.
	Fallback string

	cmd     *exec.Cmd
	tree    *tree
	logs    *logCap
	out     *os.File      // read end of the node's stdout and stderr
	copied  chan struct{} // closed when out is drained
	exited  chan struct{}
	mu      sync.Mutex
	state   string // how it exited, once it has
	stopped bool   // soak asked it to stop
}

// Start starts the node in its own process group, PID namespace and cgroup
// where the system allows (see tree), with its output in spec.LogPath. The
// child gets SIGKILL if soak dies (Pdeathsig); as the init of its PID
// namespace, its death takes every process it started along, so even a
// SIGKILL of soak leaves no orphan behind.
func Start(spec Spec) (*Process, error) {
	return start(spec, newTree)
}

func start(spec Spec, newTree func(node string) *tree) (*Process, error) {
	if len(spec.Argv) == 0 {
		return nil, fmt.Errorf("node %s: empty command", spec.Name)
	}
	path, err := lookCommand(spec)
	if err != nil {
		return nil, err
	}
	// Not O_APPEND: the cap writes the log's tail in place (logCap); read
	// too: the log's last lines are read through the same file.
	logFile, err := spec.LogFile, error(nil)
	if logFile == nil {
		logFile, err = os.OpenFile(spec.LogPath, os.O_CREATE|os.O_RDWR, 0o644)
	}
	if err == nil {
		_, err = logFile.Seek(0, io.SeekEnd)
	}
	if err != nil {
		if logFile != nil {
			logFile.Close()
		}
		return nil, fmt.Errorf("node %s: log: %w", spec.Name, err)
	}
	limit := spec.LogLimit
	if limit <= 0 {
		limit = DefaultLogLimit
	}
	logs := newLogCap(logFile, limit, DefaultLogTail)
	// A pipe of our own, not exec's: Wait returns when the node exits even
	// if a process it started still holds the pipe.
	out, in, err := os.Pipe()
	if err != nil {
		logFile.Close()
		return nil, fmt.Errorf("node %s: log pipe: %w", spec.Name, err)
	}
	t := newTree(spec.Name)
	var cmd *exec.Cmd
	for {
		cmd = exec.Command(path, spec.Argv[1:]...)
		cmd.Args[0] = spec.Argv[0]
		cmd.Env = append(inherited(spec.Unset), spec.Env...)
		cmd.Dir = spec.Dir
		cmd.Stdout, cmd.Stderr = in, in
		cmd.SysProcAttr = sysProcAttr()
		t.apply(cmd.SysProcAttr)
		err = cmd.Start()
		// Not allowed a namespace or cgroup: start with less, and say so.
		if err == nil || !isPermission(err) || !t.degrade(err) {
			break
		}
	}
	in.Close()
	if err != nil {
		t.release()
		out.Close()
		logFile.Close()
		return nil, fmt.Errorf("node %s: start %q in directory %s: %w", spec.Name, path, cmd.Dir, err)
	}
	p := &Process{Name: spec.Name, PID: cmd.Process.Pid, LogPath: spec.LogPath, Fallback: t.fallback(),
		cmd: cmd, tree: t, logs: logs, out: out, copied: make(chan struct{}), exited: make(chan struct{})}
	go p.copyOutput()
	go p.wait()
	return p, nil
}

// outputDrainTimeout is how long, after the node and its process tree are
// gone, soak reads what is left in the pipe before closing it (a process
// that escaped the tree may hold it open forever).
const outputDrainTimeout = 2 * time.Second

func (p *Process) copyOutput() {
	defer close(p.copied)
	_, _ = io.Copy(p.logs, p.out)
}

// isPermission tells the errors of a clone that asked for what this process
// may not have (a PID namespace, a cgroup it cannot write) from others.
func isPermission(err error) bool {
	return errors.Is(err, syscall.EPERM) || errors.Is(err, syscall.EACCES) || errors.Is(err, syscall.EINVAL) ||
		errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EUSERS) || errors.Is(err, syscall.EBUSY) ||
		errors.Is(err, syscall.EOPNOTSUPP) || errors.Is(err, syscall.ENOSYS)
}

// lookCommand finds the executable of spec.Argv[0]; its error names the
// path or directory it looked in.
func lookCommand(spec Spec) (string, error) {
	arg := spec.Argv[0]
	if !strings.Contains(arg, "/") {
		path, err := exec.LookPath(arg)
		if err != nil {
			return "", fmt.Errorf("node %s: command %q: not found in $PATH (give a path, absolute or relative to the scenario's folder): %w", spec.Name, arg, err)
		}
		return path, nil
	}
	path, how := arg, ""
	if !filepath.IsAbs(path) {
		base, what := spec.BaseDir, "the scenario's folder"
		if base == "" {
			base, what = spec.Dir, "the working directory"
		}
		base, err := filepath.Abs(base)
		if err != nil {
			return "", fmt.Errorf("node %s: command %q: %w", spec.Name, arg, err)
		}
		path, how = filepath.Join(base, path), ", resolved against "+what+" "+base
	}
	if _, err := exec.LookPath(path); err != nil {
		return "", fmt.Errorf("node %s: command %q (%s%s): %w", spec.Name, arg, path, how, err)
	}
	return path, nil
}

func (p *Process) wait() {
	err := p.cmd.Wait()
	// The node's first process is gone: so must be every process it started.
	p.tree.release()
	select {
	case <-p.copied:
	case <-time.After(outputDrainTimeout):
	}
	p.out.Close() // ends the copy if an escaped process still holds the pipe
	<-p.copied
	// A failing disk shows in the run's other files; the exit still counts.
	_ = p.logs.Close()
	p.mu.Lock()
	p.state = describeExit(p.cmd.ProcessState, err)
	p.mu.Unlock()
	close(p.exited)
}

func describeExit(ps *os.ProcessState, err error) string {
	if ps == nil {
		return fmt.Sprintf("wait failed: %v", err)
	}
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return "killed by signal " + ws.Signal().String()
	}
	return fmt.Sprintf("exited with status %d", ps.ExitCode())
}

// Exited is closed when the process has exited.
func (p *Process) Exited() <-chan struct{} { return p.exited }

// ExitState says how the process exited ("exited with status 2",
// "killed by signal killed"); empty while it runs.
func (p *Process) ExitState() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.state
}

// Stopping reports whether soak asked the process to stop (so its exit is
// expected, not a failure).
func (p *Process) Stopping() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stopped
}

// Stop sends SIGTERM to the process group, waits up to grace, then sends
// SIGKILL. An attached process is left alone.
func (p *Process) Stop(grace time.Duration) error {
	p.mu.Lock()
	p.stopped = true
	p.mu.Unlock()
	if p.Attached {
		return nil
	}
	select {
	case <-p.exited:
		return nil
	default:
	}
	_ = syscall.Kill(-p.PID, syscall.SIGTERM)
	p.tree.signal(syscall.SIGTERM)
	select {
	case <-p.exited:
		return nil
	case <-time.After(grace):
	}
	_ = syscall.Kill(-p.PID, syscall.SIGKILL)
	select {
	case <-p.exited:
		return fmt.Errorf("node %s did not stop within %s of SIGTERM; killed", p.Name, grace)
	case <-time.After(5 * time.Second):
		return fmt.Errorf("node %s (pid %d) did not exit after SIGKILL", p.Name, p.PID)
	}
}

// ErrNoProcess is returned when an attach target does not exist.
var ErrNoProcess = errors.New("no such process")

// Attach watches a process soak did not start, by pid or pid file.
func Attach(ctx context.Context, name string, pid int, pidFile string) (*Process, error) {
	if pidFile != "" {
		b, err := os.ReadFile(pidFile)
		if err != nil {
			return nil, fmt.Errorf("node %s: pid file: %w", name, err)
		}
		if _, err := fmt.Sscanf(string(b), "%d", &pid); err != nil || pid <= 0 {
			return nil, fmt.Errorf("node %s: pid file %s does not hold a pid", name, pidFile)
		}
	}
	if !alive(pid) {
		return nil, fmt.Errorf("node %s: pid %d: %w", name, pid, ErrNoProcess)
	}
	p := &Process{Name: name, PID: pid, Attached: true, exited: make(chan struct{})}
	go p.watch(ctx)
	return p, nil
}

// watch polls an attached process, which soak cannot wait(2) for.
func (p *Process) watch(ctx context.Context) {
	t := time.NewTicker(250 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if !alive(p.PID) {
				p.mu.Lock()
				p.state = "exited (attached process; status unknown)"
				p.mu.Unlock()
				close(p.exited)
				return
			}
		}
	}
}

// inherited is soak's environment without the variables named in unset
// ("*": all of them).
func inherited(unset []string) []string {
	if slices.Contains(unset, "*") {
		return []string{}
	}
	env := []string{} // not nil: a nil Env would inherit everything
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if !slices.Contains(unset, k) {
			env = append(env, kv)
		}
	}
	return env
}
