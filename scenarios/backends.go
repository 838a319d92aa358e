package scenarios

import (
	"fmt"
	"slices"
	"strings"
)

// BackendSpec is one kind of fake backend: the value of Backend.Kind and
// the cloud's rules soak checks before any backend starts. Each kind is a
// file backend_KIND.go that registers its spec in init; the family package
// fakebackend registers the protocol under the same spec, so the kind is
// named once, by Kind.
type BackendSpec interface {
	// Kind is the value of Backend.Kind naming it, e.g. "s3".
	Kind() string
	// Buckets is what the cloud calls a bucket, for messages ("S3 bucket").
	Buckets() string
	// BucketNameError says why name is not a bucket (container) name the
	// cloud accepts, "" when it is: the fakes refuse what the real
	// services refuse, and a scenario fails validate rather than setup.
	BucketNameError(name string) string
}

// BackendKinds are the kinds of fake backend (Backend.Kind), sorted: every
// registered BackendSpec's Kind. Validation and the JSON Schema enum read
// it; fakebackend's TestEveryKindRegistered keeps its registry equal.
var BackendKinds []string

// backendSpecs are the registered kinds, by Kind.
var backendSpecs = map[string]BackendSpec{}

// registerBackend registers a backend kind; called from its file's init.
// A kind registered twice is a programming error.
func registerBackend(s BackendSpec) {
	k := s.Kind()
	if _, dup := backendSpecs[k]; dup || k == "" {
		panic(fmt.Sprintf("scenarios: backend kind %q registered twice or empty", k))
	}
	backendSpecs[k] = s
	BackendKinds = append(BackendKinds, k)
	slices.Sort(BackendKinds)
}

// BackendKind returns the spec of the backend kind named kind, nil when
// no such kind is registered.
func BackendKind(kind string) BackendSpec { return backendSpecs[kind] }

// backendKindList is BackendKinds for messages: "azure, gcs or s3".
func backendKindList() string {
	n := len(BackendKinds)
	if n < 2 {
		return strings.Join(BackendKinds, "")
	}
	return strings.Join(BackendKinds[:n-1], ", ") + " or " + BackendKinds[n-1]
}

// bucketNameRule is what every cloud asks of a bucket name: 3 to 63 of the
// allowed characters (what describes them), a letter or digit at both
// ends. It returns why name breaks it, or "". The kinds add their own.
func bucketNameRule(name, allowed, what string) string {
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
	return ""
}

// bucketChars are the characters every cloud allows in a bucket name.
const bucketChars = "abcdefghijklmnopqrstuvwxyz0123456789-"

func isAlnum(c byte) bool { return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' }
