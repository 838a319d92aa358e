package scenarios

import "strings"

func init() { registerBackend(AzureBackend{}) }

var _ BackendSpec = AzureBackend{}

// AzureBackend is the backend kind azure: a subset of the Azure Blob REST
// API (containers, block blobs), emulator-style paths.
type AzureBackend struct{}

// Kind is "azure".
func (AzureBackend) Kind() string { return "azure" }

// Buckets is "Azure container".
func (AzureBackend) Buckets() string { return "Azure container" }

// BucketNameError applies Azure's container rules: 3 to 63 of a-z 0-9 -,
// a letter or digit at both ends, no "--".
func (AzureBackend) BucketNameError(name string) string {
	if msg := bucketNameRule(name, bucketChars, "a-z, 0-9 and '-'"); msg != "" {
		return msg
	}
	if strings.Contains(name, "--") {
		return "two adjacent dashes are not allowed"
	}
	return ""
}
