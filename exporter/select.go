package exporter

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/procfs"
)

// MaxGroupProcesses bounds the processes one --process-name or --cgroup
// target exports: each is a sampler with its netlink socket.
const MaxGroupProcesses = 256

// group is a target chosen by process name or cgroup: the processes it
// selects are found again at every scrape (a restarted server, a worker
// that came or went), each exported as a target of its own under the
// group's node label, told apart by the pid label.
type group struct {
	Target
	mu      sync.Mutex
	members map[int]*target
}

// pids finds the group's processes now.
func (g *group) pids() ([]int, error) {
	var pids []int
	var err error
	switch {
	case g.ProcessName != "":
		pids, err = pidsByName(procfs.DefaultMountPoint, g.ProcessName)
	default:
		pids, err = pidsInCgroup(g.Cgroup)
	}
	if err != nil {
		return nil, err
	}
	if len(pids) > MaxGroupProcesses {
		return nil, fmt.Errorf("%d processes selected, more than %d: select fewer", len(pids), MaxGroupProcesses)
	}
	return pids, nil
}

// collectGroup samples each of the group's processes of this scrape, and
// releases the samplers of those it no longer selects. No process is a
// scrape whose probes all failed (success 0, pid ""), as a pid file naming
// no process is.
func (c *Collector) collectGroup(g *group, ch chan<- prometheus.Metric) {
	g.mu.Lock()
	defer g.mu.Unlock()
	pids, err := g.pids()
	if err == nil && len(pids) == 0 {
		err = errors.New("no process selected")
	}
	if err != nil {
		c.failAll(g.Node, "", g.Probe.GoroutinesURL != "" || g.Probe.MetricsURL != "", err, ch)
		return
	}
	seen := map[int]bool{}
	var wg sync.WaitGroup
	for _, pid := range pids {
		seen[pid] = true
		m := g.members[pid]
		if m == nil {
			m = &target{Target: Target{Node: g.Node, PID: pid, Probe: g.Probe}}
			g.members[pid] = m
		}
		wg.Go(func() { c.collect(m, ch) })
	}
	wg.Wait()
	for pid, m := range g.members {
		if !seen[pid] {
			m.mu.Lock()
			m.drop()
			m.mu.Unlock()
			delete(g.members, pid)
		}
	}
}

// failAll exports success 0 for every probe of a node whose processes
// could not be found, and logs why.
func (c *Collector) failAll(node, pid string, goroutines bool, err error, ch chan<- prometheus.Metric) {
	if c.Logf != nil {
		c.Logf("node %s: %v", node, err)
	}
	for _, p := range probeNames {
		if p == "goroutines" && !goroutines {
			continue
		}
		ch <- prometheus.MustNewConstMetric(descSuccess, prometheus.GaugeValue, 0, node, pid, p)
	}
}

// pidsByName lists the processes whose name (comm, as ps and pgrep show
// it, or argv[0]'s base name, which comm cuts to 15 bytes) is name, this
// process left out.
func pidsByName(root, name string) ([]int, error) {
	fsys, err := procfs.NewFS(root)
	if err != nil {
		return nil, fmt.Errorf("find processes named %s: %w", name, err)
	}
	procs, err := fsys.AllProcs()
	if err != nil {
		return nil, fmt.Errorf("find processes named %s: %w", name, err)
	}
	self := os.Getpid()
	var pids []int
	for _, p := range procs {
		if p.PID == self {
			continue
		}
		comm, err := p.Comm()
		if err != nil {
			continue // gone since the listing
		}
		if comm != name {
			argv, err := p.CmdLine()
			if err != nil || len(argv) == 0 || filepath.Base(argv[0]) != name {
				continue
			}
		}
		pids = append(pids, p.PID)
	}
	slices.Sort(pids)
	return pids, nil
}

// cgroupRoot is where cgroup v2 is mounted, for cgroup paths given as
// /proc/PID/cgroup shows them.
func cgroupRoot() (string, error) {
	mounts, err := procfs.GetMounts()
	if err != nil {
		return "", fmt.Errorf("find the cgroup v2 mount: %w", err)
	}
	for _, m := range mounts {
		if m.FSType == "cgroup2" {
			return m.MountPoint, nil
		}
	}
	return "", errors.New("no cgroup v2 file system mounted")
}

// cgroupDir resolves a cgroup given as a directory of the cgroup file
// system or as a path relative to its root ("/system.slice/docker-ID.scope",
// as /proc/PID/cgroup shows it).
func cgroupDir(path string) (string, error) {
	if st, err := os.Stat(filepath.Join(path, "cgroup.procs")); err == nil && !st.IsDir() {
		return path, nil
	}
	root, err := cgroupRoot()
	if err != nil {
		return "", fmt.Errorf("cgroup %s: %w", path, err)
	}
	dir := filepath.Join(root, filepath.Clean("/"+path))
	if _, err := os.Stat(filepath.Join(dir, "cgroup.procs")); err != nil {
		return "", fmt.Errorf("cgroup %s: not a cgroup directory nor a path under %s: %w", path, root, err)
	}
	return dir, nil
}

// pidsInCgroup lists the processes of a cgroup and of the cgroups below
// it (a container's processes may sit in child cgroups).
func pidsInCgroup(path string) ([]int, error) {
	dir, err := cgroupDir(path)
	if err != nil {
		return nil, err
	}
	var pids []int
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if p != dir && errors.Is(err, fs.ErrNotExist) {
				return nil // a child cgroup removed during the walk
			}
			return err
		}
		if !d.IsDir() {
			return nil
		}
		f, err := os.Open(filepath.Join(p, "cgroup.procs"))
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		defer f.Close()
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			pid, err := strconv.Atoi(strings.TrimSpace(sc.Text()))
			if err != nil || pid <= 0 {
				return fmt.Errorf("%s: %q is not a pid", filepath.Join(p, "cgroup.procs"), sc.Text())
			}
			if pids = append(pids, pid); len(pids) > MaxGroupProcesses {
				return fs.SkipAll
			}
		}
		return sc.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("cgroup %s: %w", path, err)
	}
	slices.Sort(pids)
	return pids, nil
}
