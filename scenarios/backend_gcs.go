package scenarios

import "strings"

func init() { registerBackend(GCSBackend{}) }

var _ BackendSpec = GCSBackend{}

// GCSBackend is the backend kind gcs: Google Cloud Storage's JSON and XML
// APIs on fake-gcs-server (built into soak only with -tags gcs).
type GCSBackend struct{}

// Kind is "gcs".
func (GCSBackend) Kind() string { return "gcs" }

// Buckets is "GCS bucket".
func (GCSBackend) Buckets() string { return "GCS bucket" }

// BucketNameError applies GCS's rules: 3 to 63 of a-z 0-9 . - _, a letter
// or digit at both ends, not starting with "goog".
func (GCSBackend) BucketNameError(name string) string {
	if msg := bucketNameRule(name, bucketChars+"._", "a-z, 0-9, '.', '-' and '_'"); msg != "" {
		return msg
	}
	if strings.HasPrefix(name, "goog") {
		return "the prefix goog is reserved by GCS"
	}
	return ""
}
