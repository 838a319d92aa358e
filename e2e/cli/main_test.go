package cli

import (
	"os"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	if os.Getenv(netnsHelperEnv) != "" {
		netnsHelper() // the test binary as a server in a namespace of its own
		return
	}
	if os.Getenv(statusServerEnv) != "" {
		statusServer() // the test binary as a SUT that answers 500
		return
	}
	// The tests run in parallel at go test's -parallel (GOMAXPROCS): more
	// runs at once starved the healthy runs' 1 s idle timers on 2 cores
	// (an idle close 0.7 s late). In-process, the tests start servers
	// (TestShardMerge's) and the goroutines that copy a child's output:
	// none may outlive its test.
	goleak.VerifyTestMain(m)
}
