package cli

import (
	"errors"
	"net"
	"os"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"github.com/soak-dev/soak/internal/clitest"
	"github.com/soak-dev/soak/record"
)

// TestIsolatedRun runs the reference SUT in a network namespace of its own:
// a node on 127.0.0.2, a proxy bound to 0.0.0.0 that the host cannot reach.
func TestIsolatedRun(t *testing.T) {
	t.Parallel() // mostly waiting on a run of its own
	if err := exec.Command("unshare", "-n", "true").Run(); err != nil {
		if err := exec.Command("unshare", "-rn", "true").Run(); err != nil {
			t.Skipf("this machine forbids network namespaces (unshare -n and -rn failed: %v)", err)
		}
	}
	out := t.TempDir()
	cmd, output := clitest.Start(t, "run", "../../scenarios/examples/isolated.yaml", "--out", out, "--quiet")
	dir := clitest.RunDir(t, out)
	waitEvent(t, dir, record.EventPhaseStart, "load")
	m := readMeta(t, dir)
	own, _ := os.Readlink("/proc/self/ns/net")
	if !m.Isolated || m.NetNS == "" || m.NetNS == own {
		t.Errorf("meta: isolated=%v netns=%q (ours %q); want a namespace of its own", m.Isolated, m.NetNS, own)
	}
	proxy := m.Nodes["proxy"]
	if proxy.Ports["http"] == 0 {
		t.Fatalf("no proxy port in meta.json: %+v", proxy)
	}
	// The proxy listens on 0.0.0.0 inside the namespace: the host must not reach it.
	c, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(proxy.Ports["http"]), time.Second)
	if err == nil {
		c.Close()
		t.Errorf("the host reached the isolated proxy on port %d", proxy.Ports["http"])
	}
	if ns, _ := os.Readlink("/proc/" + strconv.Itoa(proxy.PID) + "/ns/net"); ns != m.NetNS {
		t.Errorf("proxy runs in %q, want the run's namespace %q", ns, m.NetNS)
	}
	if m.Nodes["target"].Addr[:10] != "127.0.0.2:" {
		t.Errorf("target addr = %q, want 127.0.0.2:PORT", m.Nodes["target"].Addr)
	}
	err = cmd.Wait()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		t.Fatalf("isolated run: exit %d, want 0\n%s", ee.ExitCode(), output)
	}
	if m := readMeta(t, dir); m.Ended != record.EndedCompleted {
		t.Errorf("ended = %q, want completed", m.Ended)
	}
}
