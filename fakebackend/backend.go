// Package fakebackend runs fake cloud backends (S3, GCS, Azure Blob) that
// answer real SDK clients and witness every connection opened to them.
package fakebackend

import (
	"context"
	"fmt"

	"github.com/soak-dev/soak/record"
	"github.com/soak-dev/soak/scenarios"
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
}

// New makes a backend of cfg.Kind named name; its ledger goes to sink
// (record.Conn lines with Witness record.WitnessBackend, Source name).
func New(name string, cfg *scenarios.Backend, sink record.Sink) (Backend, error) {
	return nil, fmt.Errorf("fakebackend: kind %q not implemented yet", cfg.Kind)
}
