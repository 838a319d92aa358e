package e2e

import (
	"fmt"
	"os"
	"testing"
	"time"

	"go.uber.org/goleak"
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
