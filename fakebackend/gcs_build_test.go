package fakebackend

import (
	"errors"
	"testing"

	"github.com/soak-dev/soak/scenarios"
)

// The fake GCS is served only by a soak built with -tags gcs; otherwise
// the kind is known (scenarios stay valid) and New says how to get it.
func TestGCSBuildTag(t *testing.T) {
	_, err := New("g", &scenarios.Backend{Kind: "gcs"}, nil)
	if gcsBuilt {
		if err != nil || Unavailable("gcs") != nil {
			t.Fatalf("built with -tags gcs: New = %v, Unavailable = %v; want both nil", err, Unavailable("gcs"))
		}
		return
	}
	if !errors.Is(err, ErrGCSNotBuilt) || !errors.Is(Unavailable("gcs"), ErrGCSNotBuilt) {
		t.Fatalf("built without -tags gcs: New = %v, Unavailable = %v; want ErrGCSNotBuilt", err, Unavailable("gcs"))
	}
	if Unavailable("s3") != nil || Unavailable("azure") != nil {
		t.Error("s3 and azure must always be available")
	}
}
