package scenarios

import (
	"net"
	"strings"
)

// BucketNameError says why name is not a bucket (container) name the cloud
// of kind accepts, or returns "" when it is. The rules are each cloud's
// own, so a scenario fails validate rather than setup, and the fakes refuse
// what the real services refuse:
//   - s3: 3 to 63 of a-z 0-9 . -, a letter or digit at both ends, no "..",
//     not an IP address, none of the reserved prefixes and suffixes;
//   - gcs: 3 to 63 of a-z 0-9 . - _, a letter or digit at both ends, not
//     starting with "goog";
//   - azure: 3 to 63 of a-z 0-9 -, a letter or digit at both ends, no "--".
func BucketNameError(kind, name string) string {
	allowed, what := "abcdefghijklmnopqrstuvwxyz0123456789.-", "a-z, 0-9, '.' and '-'"
	switch kind {
	case "gcs":
		allowed, what = allowed+"_", "a-z, 0-9, '.', '-' and '_'"
	case "azure":
		allowed, what = "abcdefghijklmnopqrstuvwxyz0123456789-", "a-z, 0-9 and '-'"
	}
	rule := "3 to 63 characters of " + what + ", starting and ending with a letter or digit"
	if len(name) < 3 || len(name) > 63 {
		return rule
	}
	for _, c := range name {
		if !strings.ContainsRune(allowed, c) {
			if c >= 'A' && c <= 'Z' {
				return "upper-case letters are not allowed: " + rule
			}
			return "'" + string(c) + "' is not allowed: " + rule
		}
	}
	if !isAlnum(name[0]) || !isAlnum(name[len(name)-1]) {
		return rule
	}
	switch kind {
	case "s3":
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
	case "gcs":
		if strings.HasPrefix(name, "goog") {
			return "the prefix goog is reserved by GCS"
		}
	case "azure":
		if strings.Contains(name, "--") {
			return "two adjacent dashes are not allowed"
		}
	}
	return ""
}

func isAlnum(c byte) bool { return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' }
