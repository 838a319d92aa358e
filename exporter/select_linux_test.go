package exporter

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"testing"

	dto "github.com/prometheus/client_model/go"
)

// startNamed starts n processes of a name no other process has: a copy
// of sleep under that name. They are killed at the end of the test.
func startNamed(t *testing.T, name string, n int) []*exec.Cmd {
	t.Helper()
	src, err := exec.LookPath("sleep")
	if err != nil {
		t.Skip("no sleep binary")
	}
	bin := filepath.Join(t.TempDir(), name)
	in, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.OpenFile(bin, os.O_CREATE|os.O_WRONLY, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	out.Close()
	var cmds []*exec.Cmd
	for range n {
		cmd := exec.Command(bin, "60")
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
		cmds = append(cmds, cmd)
	}
	return cmds
}

// pidsOf lists the pid labels of a family's series of node.
func pidsOf(fams map[string]*dto.MetricFamily, name, node string) []string {
	var pids []string
	f := fams[name]
	if f == nil {
		return nil
	}
	for _, m := range f.Metric {
		l := map[string]string{}
		for _, lp := range m.Label {
			l[lp.GetName()] = lp.GetValue()
		}
		if l["node"] == node {
			pids = append(pids, l["pid"])
		}
	}
	slices.Sort(pids)
	return pids
}

func pidStrings(cmds ...*exec.Cmd) []string {
	var out []string
	for _, c := range cmds {
		out = append(out, strconv.Itoa(c.Process.Pid))
	}
	slices.Sort(out)
	return out
}

// newGroupCollector makes a collector of one --process-name or --cgroup target.
func newGroupCollector(t *testing.T, tg Target) *Collector {
	t.Helper()
	c, err := New([]Target{tg}, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	if err := c.Open(); err != nil {
		t.Fatal(err)
	}
	return c
}

// TestSelectByName: every process of the name is exported under the
// node, each with its pid; one that exits is dropped at the next scrape;
// none left is success 0 with an empty pid, not a failed scrape.
func TestSelectByName(t *testing.T) {
	t.Parallel()
	name := fmt.Sprintf("soaksel%d", os.Getpid())
	cmds := startNamed(t, name, 2)
	c := newGroupCollector(t, Target{ProcessName: name})
	fams := scrape(t, c)
	if got, want := pidsOf(fams, "soak_process_threads", name), pidStrings(cmds...); !slices.Equal(got, want) {
		t.Fatalf("processes named %s exported: %v, want %v", name, got, want)
	}
	for _, pid := range pidStrings(cmds...) {
		if ok, found := value(t, fams, "soak_scrape_probe_success", map[string]string{"node": name, "pid": pid, "probe": "process"}); !found || ok != 1 {
			t.Errorf("success{pid=%s,probe=process} = %v (found %v)", pid, ok, found)
		}
	}
	cmds[0].Process.Kill()
	cmds[0].Wait()
	if got, want := pidsOf(scrape(t, c), "soak_process_threads", name), pidStrings(cmds[1]); !slices.Equal(got, want) {
		t.Errorf("after one exited: %v, want %v", got, want)
	}
	cmds[1].Process.Kill()
	cmds[1].Wait()
	fams = scrape(t, c)
	if got := pidsOf(fams, "soak_process_threads", name); len(got) != 0 {
		t.Errorf("after both exited: %v exported", got)
	}
	if ok, found := value(t, fams, "soak_scrape_probe_success", map[string]string{"node": name, "pid": "", "probe": "process"}); !found || ok != 0 {
		t.Errorf("no process left: success = %v (found %v), want 0", ok, found)
	}
}

// TestSelectByCgroup: the processes of a cgroup and of a cgroup below it,
// the cgroup given as /proc/PID/cgroup names it or as its directory.
func TestSelectByCgroup(t *testing.T) {
	t.Parallel()
	root, err := cgroupRoot()
	if err != nil {
		t.Skipf("no cgroup v2: %v", err)
	}
	rel := fmt.Sprintf("/soak-seltest-%d", os.Getpid())
	dir := filepath.Join(root, rel)
	if err := os.MkdirAll(filepath.Join(dir, "inner"), 0o755); err != nil {
		t.Skipf("cannot make a cgroup (needs root and a writable cgroup v2): %v", err)
	}
	cmds := startNamed(t, fmt.Sprintf("soakcg%d", os.Getpid()), 3)
	t.Cleanup(func() {
		for _, c := range cmds {
			c.Process.Kill()
			c.Wait()
		}
		os.Remove(filepath.Join(dir, "inner"))
		os.Remove(dir)
	})
	for i, c := range cmds[:2] { // the third stays out
		d := dir
		if i == 1 {
			d = filepath.Join(dir, "inner")
		}
		if err := os.WriteFile(filepath.Join(d, "cgroup.procs"), []byte(strconv.Itoa(c.Process.Pid)), 0o644); err != nil {
			t.Skipf("cannot move a process into the cgroup: %v", err)
		}
	}
	for _, cg := range []string{rel, dir} {
		c := newGroupCollector(t, Target{Node: "box", Cgroup: cg})
		if got, want := pidsOf(scrape(t, c), "soak_process_threads", "box"), pidStrings(cmds[:2]...); !slices.Equal(got, want) {
			t.Errorf("cgroup %s: exported %v, want %v", cg, got, want)
		}
	}
	if _, err := pidsInCgroup("/no-such-cgroup-here"); err == nil {
		t.Error("a missing cgroup selected processes")
	}
}
