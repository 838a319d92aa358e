package e2e

import (
	"fmt"
	"os"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/soak-dev/soak/internal/testbin"
)

func TestMain(m *testing.M) {
	// The test binary as a helper in a namespace a test made (shard_test.go).
	if addr := os.Getenv(countingServerEnv); addr != "" {
		countingServer(addr)
	}
	if u := os.Getenv(fetchEnv); u != "" {
		fetchURL(u)
	}
	// Messages print local clock times; pin the zone so expected text is exact.
	time.Local = time.UTC
	// The matrix's leak rows mostly wait through the scenario's holds:
	// all six at once, not two at a time (-parallel defaults to GOMAXPROCS).
	testbin.Parallel(6)
	code := m.Run()
	// The runner's GCS fake pulls in opencensus: its stats worker starts in
	// an init and lives for the process.
	if code == 0 {
		if err := goleak.Find(goleak.IgnoreTopFunction("go.opencensus.io/stats/view.(*worker).start")); err != nil {
			fmt.Fprintf(os.Stderr, "goleak: %v\n", err)
			code = 1
		}
	}
	os.Exit(code)
}
