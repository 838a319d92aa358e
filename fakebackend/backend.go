// Package fakebackend runs fake cloud backends (S3, GCS, Azure Blob) that
// answer real SDK clients and witness every connection opened to them.
//
// Every kind shares one wrapper (server.go): a tracking listener and
// http.Server.ConnState feed the connection ledger (ledger.go), and a
// middleware injects faults (faults.go). The protocol handlers live in
// s3.go, gcs.go and azure.go.
package fakebackend

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/soak-dev/soak/record"
	"github.com/soak-dev/soak/scenarios"
)

// Defaults handed to the SUT when the scenario leaves them empty.
const (
	DefaultAccessKey = "soak"
	DefaultSecretKey = "soaksecret"
	DefaultRegion    = "us-east-1"
	// DefaultMaxBytes caps the bytes of objects held in memory.
	DefaultMaxBytes = 256 << 20
	// DefaultMaxCount caps the number of objects held in memory.
	DefaultMaxCount = 100000
	// ConnsPath answers the live counts and open connections as JSON.
	ConnsPath = "/_soak/conns"
)

// Backend is one fake cloud backend. Methods are safe for concurrent use.
type Backend interface {
	// Start binds addr ("127.0.0.1:0" for a free port) and serves until Close.
	Start(ctx context.Context, addr string) error
	// URL is the base URL clients use, e.g. http://127.0.0.1:9000.
	URL() string
	// Kind is s3, gcs or azure.
	Kind() string
	// Live returns the current connection counts.
	Live() Counts
	// SetFaults replaces the faults in force (nil: none).
	SetFaults(f *scenarios.Faults)
	// SetPhase names the load phase now running; ledger lines carry the
	// phase in force when their connection ended ("" until set).
	SetPhase(name string)
	// Close stops serving, closes every connection and writes the ledger
	// lines of connections still open (ClosedBy record.OpenAtEnd).
	Close(ctx context.Context) error
}

// Counts are live connection counts of a backend.
type Counts struct {
	Open     int   `json:"open"`
	Active   int   `json:"active"`
	Idle     int   `json:"idle"`
	Accepted int64 `json:"accepted"`
	Closed   int64 `json:"closed"`
	Requests int64 `json:"requests"`
	// Malformed counts connections that sent bytes but never a request the
	// handler saw (garbage instead of HTTP, headers net/http rejected).
	Malformed int64 `json:"malformed"`
	// Errors counts responses with a status >= 400, injected or not.
	Errors int64 `json:"errors"`
}

// handlerFactory builds the protocol handler of one kind.
type handlerFactory func(cfg *scenarios.Backend) (protocol, error)

// kindEntry is a registered backend kind.
type kindEntry struct {
	open handlerFactory
	// off says why this build cannot serve the kind; nil when it can.
	off error
}

// kinds is the registry of backend kinds by name, filled by each
// protocol file's init.
var kinds = map[string]kindEntry{}

// registerKind registers the protocol of the backend kind spec (a kind of
// the schema, scenarios.BackendKinds); twice is a programming error,
// caught at init.
func registerKind(spec scenarios.BackendSpec, open handlerFactory) {
	name := spec.Kind()
	if scenarios.BackendKind(name) == nil {
		panic("fakebackend: kind " + name + " is not in scenarios.BackendKinds")
	}
	if _, dup := kinds[name]; dup {
		panic("fakebackend: kind " + name + " registered twice")
	}
	kinds[name] = kindEntry{open: open}
}

// registerOff registers a kind this build does not serve, and why (the
// fake GCS without the gcs build tag): validate says so before a run.
func registerOff(spec scenarios.BackendSpec, why error) {
	registerKind(spec, func(*scenarios.Backend) (protocol, error) { return nil, why })
	e := kinds[spec.Kind()]
	e.off = why
	kinds[spec.Kind()] = e
}

// Kinds lists the registered backend kinds.
func Kinds() []string { return slices.Sorted(maps.Keys(kinds)) }

// New makes a backend of cfg.Kind named name; its ledger goes to sink
// (record.Conn lines with Witness record.WitnessBackend, Source name).
// A nil sink keeps no lines, only live counts.
func New(name string, cfg *scenarios.Backend, sink record.Sink) (Backend, error) {
	if cfg == nil {
		return nil, fmt.Errorf("fakebackend %s: no configuration", name)
	}
	k, ok := kinds[cfg.Kind]
	if !ok {
		return nil, fmt.Errorf("fakebackend %s: unknown kind %q (want one of %s)", name, cfg.Kind, strings.Join(Kinds(), ", "))
	}
	p, err := k.open(cfg)
	if err != nil {
		return nil, fmt.Errorf("fakebackend %s: %w", name, err)
	}
	return newServer(name, cfg, p, sink), nil
}

// ErrGCSNotBuilt is returned for a gcs backend by a soak built without the
// gcs build tag (the default: the fake GCS doubles the cold build time).
var ErrGCSNotBuilt = errors.New("this soak is built without the fake GCS; rebuild it with `make build GCS=1` (go build -tags gcs ./cmd/soak), or run fake-gcs-server yourself and give its URL to the SUT (docs/backends.md)")

// Unavailable returns why kind cannot be served by this build (nil if it
// can, or if kind is unknown: validation reports that).
func Unavailable(kind string) error { return kinds[kind].off }

// Credentials returns the access and secret key of cfg, or the defaults.
func Credentials(cfg *scenarios.Backend) (accessKey, secretKey string) {
	accessKey, secretKey = DefaultAccessKey, DefaultSecretKey
	if cfg != nil && cfg.AccessKey != "" {
		accessKey = cfg.AccessKey
	}
	if cfg != nil && cfg.SecretKey != "" {
		secretKey = cfg.SecretKey
	}
	return accessKey, secretKey
}
