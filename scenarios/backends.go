package scenarios

import "strings"

// BackendKinds are the kinds of fake backend (Backend.Kind), in schema
// order. The schema owns the names (validation, JSON Schema enum); each
// kind's file in fakebackend registers its protocol under one of them, and
// fakebackend's TestEveryKindRegistered keeps the two equal.
var BackendKinds = []string{"s3", "gcs", "azure"}

// backendKindList is BackendKinds for messages: "s3, gcs or azure".
func backendKindList() string {
	n := len(BackendKinds)
	if n < 2 {
		return strings.Join(BackendKinds, "")
	}
	return strings.Join(BackendKinds[:n-1], ", ") + " or " + BackendKinds[n-1]
}
