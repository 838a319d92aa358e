package checks

import (
	"fmt"
	"os"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// AfterTests holds cleanups of the external tests (the soak binary the
// matrix builds), run once all tests are done.
var AfterTests []func()

func TestMain(m *testing.M) {
	// Messages print local clock times; pin the zone so expected text is exact.
	time.Local = time.UTC
	code := m.Run()
	for _, f := range AfterTests {
		f()
	}
	// The matrix imports the runner, whose GCS fake pulls in opencensus:
	// its stats worker starts in an init and lives for the process.
	if code == 0 {
		if err := goleak.Find(goleak.IgnoreTopFunction("go.opencensus.io/stats/view.(*worker).start")); err != nil {
			fmt.Fprintf(os.Stderr, "goleak: %v\n", err)
			code = 1
		}
	}
	os.Exit(code)
}
