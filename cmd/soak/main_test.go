package main

import (
	"testing"

	"go.uber.org/goleak"
)

// The commands run in-process here (completion, help, the manifests'
// command lines) start nothing that may outlive a test. The fake GCS
// (-tags gcs) pulls in opencensus, whose stats worker starts in an init.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, goleak.IgnoreTopFunction("go.opencensus.io/stats/view.(*worker).start"))
}
