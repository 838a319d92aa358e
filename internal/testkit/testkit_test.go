package testkit

import (
	"errors"
	"flag"
	"net"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	flag.Parse()
	Parallel(7)
	goleak.VerifyTestMain(m)
}

func TestParallel(t *testing.T) {
	if got := flag.Lookup("test.parallel").Value.String(); got != "7" && !given() {
		t.Errorf("-test.parallel = %s after Parallel(7), want 7", got)
	}
}

// given says whether the command line set -test.parallel (then Parallel
// must leave it alone, and the value is the caller's).
func given() bool {
	set := false
	flag.Visit(func(f *flag.Flag) { set = set || f.Name == "test.parallel" })
	return set
}

func TestHoldIdle(t *testing.T) {
	var servers []net.Conn
	t.Run("hold", func(t *testing.T) {
		var port int
		port, servers = HoldIdle(t, 3)
		if port == 0 || len(servers) != 3 {
			t.Fatalf("port %d, %d server ends; want a port and 3", port, len(servers))
		}
		for _, s := range servers {
			if got := s.LocalAddr().(*net.TCPAddr).Port; got != port {
				t.Errorf("server end on port %d, want %d", got, port)
			}
		}
	})
	// Closed with the test that held them.
	for _, s := range servers {
		s.SetReadDeadline(time.Now().Add(time.Second))
		if _, err := s.Read(make([]byte, 1)); !errors.Is(err, net.ErrClosed) {
			t.Errorf("read on a held connection after its test: %v, want it closed", err)
		}
	}
}
