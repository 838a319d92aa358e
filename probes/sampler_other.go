//go:build !linux

package probes

import (
	"context"
	"errors"
	"time"

	"github.com/soak-dev/soak/record"
)

// sysState is empty where probes are not supported.
type sysState struct{}

// errUnsupported says the probes read Linux interfaces (/proc, sock_diag).
var errUnsupported = errors.New("probes: only supported on Linux (/proc and sock_diag netlink)")

func newSampler(Target, ...Option) (*Sampler, error) { return nil, errUnsupported }

func (s *Sampler) sample(context.Context, time.Time) (record.Sample, []record.Conn) {
	return record.Sample{}, nil
}

func (s *Sampler) close() []record.Conn { return nil }

// Fallback says why the sampler uses the proc method; always "" here.
func (s *Sampler) Fallback() string { return "" }

// FDMethod says how file descriptors are listed; always "" here.
func (s *Sampler) FDMethod() string { return "" }

// FDFallback says why /proc/PID/fd is read; always "" here.
func (s *Sampler) FDFallback() string { return "" }

// EventsMethod says which witness records connections' lives; always polling here.
func (s *Sampler) EventsMethod() string { return EventsPolling }

// EventsFallback says why the kernel event witness does not run; always "" here.
func (s *Sampler) EventsFallback() string { return "" }
