package checks

import (
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	// Messages print local clock times; pin the zone so expected text is exact.
	time.Local = time.UTC
	goleak.VerifyTestMain(m)
}
