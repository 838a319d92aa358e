// Package testsut is soak's reference system under test: a small cluster that
// mirrors the three connection layers of a clustered object store.
//
// A proxy role accepts client requests for /v1/objects/{bucket}/{key} and
// forwards each to a target (chosen by a hash of the key) over HTTP; a target
// role serves them from an S3 backend, path-style, over HTTP. Each layer has
// its own idle settings, each role can use the net/http or the fasthttp
// engine, and named leaks (see Leak) switch on real bugs seen in the wild, so
// soak's checks can be shown to fail on a leak and pass on a healthy build.
//
// Run starts one role in the calling process; `soak testsut` runs it as a
// process of its own.
package testsut
