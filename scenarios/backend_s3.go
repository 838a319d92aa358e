package scenarios

import (
	"net"
	"strings"
)

func init() { registerBackend(S3Backend{}) }

var _ BackendSpec = S3Backend{}

// S3Backend is the backend kind s3: a fake Amazon S3 (path- and
// virtual-hosted-style requests, SigV4 with verify_signatures).
type S3Backend struct{}

// Kind is "s3".
func (S3Backend) Kind() string { return "s3" }

// Buckets is "S3 bucket".
func (S3Backend) Buckets() string { return "S3 bucket" }

// BucketNameError applies S3's rules: 3 to 63 of a-z 0-9 . -, a letter or
// digit at both ends, no "..", not an IP address, none of the reserved
// prefixes and suffixes.
func (S3Backend) BucketNameError(name string) string {
	if msg := bucketNameRule(name, bucketChars+".", "a-z, 0-9, '.' and '-'"); msg != "" {
		return msg
	}
	if strings.Contains(name, "..") {
		return "two adjacent periods are not allowed"
	}
	if net.ParseIP(name) != nil {
		return "an IP address is not a bucket name"
	}
	for _, p := range []string{"xn--", "sthree-", "amzn-s3-demo-"} {
		if strings.HasPrefix(name, p) {
			return "the prefix " + p + " is reserved by S3"
		}
	}
	for _, p := range []string{"-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3"} {
		if strings.HasSuffix(name, p) {
			return "the suffix " + p + " is reserved by S3"
		}
	}
	return ""
}
