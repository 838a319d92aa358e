//go:build !gcs

package fakebackend

import "github.com/soak-dev/soak/scenarios"

// gcsBuilt is false: this soak was built without the fake GCS (see gcs.go).
const gcsBuilt = false

func init() { registerOff(scenarios.GCSBackend{}, ErrGCSNotBuilt) }
