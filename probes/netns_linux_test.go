package probes

import (
	"os"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"github.com/soak-dev/soak/record"
)

// A server in its own network namespace (unshare -n) holding K idle
// connections made inside that namespace is probed from outside.
func TestOtherNetworkNamespace(t *testing.T) {
	t.Parallel()
	if err := exec.Command("unshare", "-n", "true").Run(); err != nil {
		t.Skipf("this machine forbids new network namespaces (unshare -n: %v)", err)
	}
	const k = 3
	h := startHelper(t, "netns", []string{"unshare", "-n"}, "K="+strconv.Itoa(k))
	self, err := os.Readlink("/proc/self/ns/net")
	if err != nil {
		t.Fatal(err)
	}
	s := newTestSampler(t, Target{Node: "sut", PID: h.cmd.Process.Pid,
		Layers: []LayerRule{{Name: "client", LocalPorts: []int{h.port}}}})
	if got, want := s.Method(), record.MethodNetlink; got != want {
		t.Fatalf("method = %q, want %q", got, want)
	}
	time.Sleep(1100 * time.Millisecond)
	smp, _ := sampleNow(t, s)
	if len(smp.Errors) > 0 {
		t.Fatalf("errors: %v", smp.Errors)
	}
	if smp.Sockets.NetNS == "" || smp.Sockets.NetNS == self {
		t.Errorf("netns = %q, want the helper's, not ours (%s)", smp.Sockets.NetNS, self)
	}
	srv, cli := layer(smp, "client"), layer(smp, record.LayerOther)
	if got := srv.Established(); got != k {
		t.Errorf("server side established = %d, want %d", got, k)
	}
	// The helper dialled itself: the client ends match no rule.
	if got := cli.Established(); got != k {
		t.Errorf("client side (other) established = %d, want %d", got, k)
	}
	if srv.Idle == nil || srv.Idle.Max < 1000 || srv.Idle.Estimated {
		t.Errorf("idle = %+v, want kernel ages of at least 1 s", srv.Idle)
	}
}
