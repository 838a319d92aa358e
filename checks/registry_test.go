package checks

import (
	"slices"
	"testing"

	"github.com/soak-dev/soak/record"
	"github.com/soak-dev/soak/scenarios"
)

// TestEveryKindRegistered: every check kind of the schema has an
// evaluation here, and nothing else does.
func TestEveryKindRegistered(t *testing.T) {
	t.Parallel()
	if got, want := Kinds(), slices.Sorted(slices.Values(scenarios.CheckKinds)); !slices.Equal(got, want) {
		t.Errorf("registered check kinds %v, schema kinds %v", got, want)
	}
}

// TestEvaluateOneNoKind: an expectation with no kind set is inconclusive,
// not a pass.
func TestEvaluateOneNoKind(t *testing.T) {
	t.Parallel()
	got := evaluateOne(&runData{}, &scenarios.Expectation{})
	if len(got) != 1 || got[0].Status != record.StatusInconclusive {
		t.Errorf("evaluateOne(no kind) = %+v, want one inconclusive result", got)
	}
}
