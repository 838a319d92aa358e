package fakebackend

import (
	"slices"
	"testing"

	"github.com/soak-dev/soak/scenarios"
)

// TestEveryKindRegistered: the kinds validation accepts
// (scenarios.BackendKinds) are exactly the kinds registered here.
func TestEveryKindRegistered(t *testing.T) {
	t.Parallel()
	if got, want := Kinds(), slices.Sorted(slices.Values(scenarios.BackendKinds)); !slices.Equal(got, want) {
		t.Errorf("registered backend kinds %v, schema kinds %v", got, want)
	}
}
