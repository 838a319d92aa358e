package scenarios

import (
	"fmt"
	"slices"
	"strings"
)

// DefaultConnections caps open connections per host when Requests sets none.
const DefaultConnections = 64

// DefaultTarget is the request of phases that name none.
const DefaultTarget = "GET /"

// Requests says what a rate-driven phase sends. Each target is
// "METHOD PATH-OR-URL", templated per request with the run's addresses and
// {{rand N}} (0..N-1), {{seq}} (request number); a path is joined to the
// scenario's Target.
type Requests struct {
	// Targets are picked round-robin. Default ["GET /"].
	Targets []string `yaml:"targets,omitempty" json:"targets,omitempty"`
	// Body is the size of a generated request body for PUT/POST. Default 0.
	Body ByteSize `yaml:"body,omitempty" json:"body,omitempty"`
	// Headers are added to every request.
	Headers map[string]string `yaml:"headers,omitempty" json:"headers,omitempty"`
	// Connections caps open connections per host. Default 64; 0 in YAML means the default.
	Connections int `yaml:"connections,omitempty" json:"connections,omitempty"`
	// Workers is the initial number of vegeta workers. Default 10.
	Workers int `yaml:"workers,omitempty" json:"workers,omitempty"`
	// KeepAlive reuses connections. Default true.
	KeepAlive *bool `yaml:"keepalive,omitempty" json:"keepalive,omitempty"`
	// Timeout per request. Default 10s.
	Timeout Duration `yaml:"timeout,omitempty" json:"timeout,omitempty"`
	// HTTP2 uses h2c (HTTP/2 without TLS). Default false (HTTP/1.1).
	HTTP2 bool `yaml:"h2c,omitempty" json:"h2c,omitempty"`
	// ExpectStatus lists the status codes that count as success (a probe
	// that expects 404). Default: 100-399.
	ExpectStatus []int `yaml:"expect_status,omitempty" json:"expect_status,omitempty"`
}

// Succeeded says whether a response with status code is a success for
// these requests (0: no response, never).
func (r *Requests) Succeeded(code int) bool {
	if len(r.ExpectStatus) == 0 {
		return code >= 100 && code < 400
	}
	return slices.Contains(r.ExpectStatus, code)
}

// TargetNames are the phase's targets as written (trimmed), each once, in
// order: the names of its per-target load results and of a load check's
// target. [DefaultTarget] when it lists none.
func (r *Requests) TargetNames() []string {
	if len(r.Targets) == 0 {
		return []string{DefaultTarget}
	}
	var out []string
	for _, t := range r.Targets {
		if t = strings.TrimSpace(t); !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	return out
}

// Share is the part of the requests that go to the target named name
// (the targets are picked round-robin), 0 if none does.
func (r *Requests) Share(name string) float64 {
	if len(r.Targets) == 0 {
		if name == DefaultTarget {
			return 1
		}
		return 0
	}
	n := 0
	for _, t := range r.Targets {
		if strings.TrimSpace(t) == name {
			n++
		}
	}
	return float64(n) / float64(len(r.Targets))
}

// requests gives a rate-driven phase's Requests to Phase.Requests; every
// spec that embeds Requests has it.
func (r *Requests) requests() *Requests { return r }

// connections is the most connections the requests keep open at once.
func (r *Requests) connections() int {
	if r.Connections > 0 {
		return r.Connections
	}
	return DefaultConnections
}

func (r *Requests) validate(v *validator, path string) {
	for i, t := range r.Targets {
		v.target(fmt.Sprintf("%s.targets[%d]", path, i), t)
	}
	v.count(path+".connections", r.Connections, MaxConnections)
	v.count(path+".workers", r.Workers, MaxConnections)
	for i, c := range r.ExpectStatus {
		if c < 100 || c > 599 {
			v.fail(fmt.Sprintf("%s.expect_status[%d]", path, i), "%d is not an HTTP status code (100-599)", c)
		}
	}
}

// shard splits the open-connection cap (the default's too, so N shards
// open no more connections than one run) and the initial workers, each at
// least 1 (0 means the default).
func (r *Requests) shard(g Segment) {
	if r.Connections == 0 {
		r.Connections = DefaultConnections
	}
	g.cap(&r.Connections)
	g.cap(&r.Workers)
}
