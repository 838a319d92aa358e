package cli

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/vishvananda/netlink"

	"github.com/soak-dev/soak/internal/clitest"
	"github.com/soak-dev/soak/record"
)

// netnsHelperEnv makes the test binary a server that holds netnsConns idle
// keep-alive connections to itself: run under `unshare -n` it stands for a
// server in a container, whose sockets the host's dump does not show.
const (
	netnsHelperEnv = "SOAK_TEST_NETNS_HELPER"
	netnsConns     = 3
)

func netnsHelper() {
	// A fresh network namespace has lo down.
	if lo, err := netlink.LinkByName("lo"); err != nil || netlink.LinkSetUp(lo) != nil {
		fmt.Println("error: cannot bring lo up", err)
		os.Exit(1)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Println("error", err)
		os.Exit(1)
	}
	go http.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok")) }))
	var conns []net.Conn
	for i := 0; i < netnsConns; i++ {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			fmt.Println("error", err)
			os.Exit(1)
		}
		fmt.Fprintf(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
		if _, err := http.ReadResponse(bufio.NewReader(c), nil); err != nil {
			fmt.Println("error", err)
			os.Exit(1)
		}
		conns = append(conns, c)
	}
	fmt.Println(ln.Addr().(*net.TCPAddr).Port)
	bufio.NewReader(os.Stdin).ReadString('\n') // until the test closes our stdin
	_ = conns
}

// TestAttachOtherNetNS attaches soak to a running process in a network
// namespace of its own (a container, as someone else started it): the
// sockets are dumped inside that namespace, the run says which one, and
// the counts and idle ages are the helper's.
func TestAttachOtherNetNS(t *testing.T) {
	t.Parallel() // mostly waiting on a run of its own
	if err := exec.Command("unshare", "-n", "true").Run(); err != nil {
		t.Skipf("this machine forbids new network namespaces (unshare -n: %v); run as root", err)
	}
	helper := exec.Command("unshare", "-n", os.Args[0])
	helper.Env = append(os.Environ(), netnsHelperEnv+"=1")
	stdin, _ := helper.StdinPipe()
	stdout, _ := helper.StdoutPipe()
	if err := helper.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stdin.Close(); helper.Wait() })
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || strings.HasPrefix(line, "error") {
		t.Fatalf("helper: %q %v", line, err)
	}
	port := strings.TrimSpace(line)
	scenario := fmt.Sprintf(`name: attach-netns
interval: 500ms
nodes:
  sut: {attach: {pid: %d, url: "http://127.0.0.1:%s"}}
layers:
  client: {node: sut, listen: sut, idle_timeout: 1m}
phases:
  - {name: watch, quiet: {duration: 2s}}
expect:
  - max: {series: sockets.client, value: %d}
  - reclaim: {layer: client}
`, helper.Process.Pid, port, netnsConns)
	file := filepath.Join(t.TempDir(), "attach.yaml")
	os.WriteFile(file, []byte(scenario), 0o644)
	out := t.TempDir()
	code, output := clitest.Run(t, "run", file, "--out", out, "--quiet")
	if code != 0 {
		t.Fatalf("attached run: exit %d, want 0\n%s", code, output)
	}
	dir := clitest.RunDir(t, out)
	r, err := record.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	samples, _ := r.Samples()
	own, _ := os.Readlink("/proc/self/ns/net")
	theirs, _ := os.Readlink(fmt.Sprintf("/proc/%d/ns/net", helper.Process.Pid))
	seen := 0
	for _, s := range samples {
		if s.Sockets == nil {
			continue
		}
		seen++
		if s.Sockets.NetNS != theirs || theirs == own {
			t.Fatalf("sample probed netns %q, want the helper's %q (ours %q)", s.Sockets.NetNS, theirs, own)
		}
		if got := s.Sockets.Layers["client"].Established(); got != netnsConns {
			t.Errorf("%s: client established = %d, want %d", s.Time.Format("15:04:05.000"), got, netnsConns)
		}
	}
	last := samples[len(samples)-1].Sockets.Layers["client"]
	if seen < 3 || last.Idle == nil || last.Idle.Max < 1500 || last.Idle.Estimated {
		t.Errorf("%d socket samples, last idle %+v; want kernel idle ages growing past 1.5 s", seen, last.Idle)
	}
	if m := readMeta(t, dir); !m.Nodes["sut"].Attached {
		t.Errorf("meta: node not marked attached: %+v", m.Nodes["sut"])
	}
	if err := syscall.Kill(helper.Process.Pid, 0); err != nil {
		t.Errorf("the attached process is gone after the run (%v): soak must not stop what it did not start", err)
	}
}
