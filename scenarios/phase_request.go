package scenarios

import (
	"fmt"
	"time"
)

// DefaultStepTimeout bounds a request or exec phase that sets no timeout.
const DefaultStepTimeout = time.Minute

// Request sends one HTTP request and checks its status: a setup step, such
// as creating a bucket or starting a copy job through the SUT's admin API.
type Request struct {
	// Target is "METHOD PATH-OR-URL", templated like load targets
	// ({{.Cycle}}, {{.Repeat}} too); a path joins the scenario's target.
	Target string `yaml:"target" json:"target"`
	// Headers are sent with the request, templated.
	Headers map[string]string `yaml:"headers,omitempty" json:"headers,omitempty"`
	// Body is the request body, templated. One that starts with { or [ is
	// sent with Content-Type: application/json unless Headers set one.
	Body string `yaml:"body,omitempty" json:"body,omitempty"`
	// ExpectStatus lists the statuses that succeed. Default: 200-299. Any
	// other status, or no response, ends the run (exit 3) with the response.
	ExpectStatus []int `yaml:"expect_status,omitempty" json:"expect_status,omitempty"`
	// Timeout bounds the request. Default 1m.
	Timeout Duration `yaml:"timeout,omitempty" json:"timeout,omitempty"`
}

var _ PhaseSpec = (*Request)(nil)

// Kind implements PhaseSpec.
func (*Request) Kind() string { return "request" }

// Planned implements PhaseSpec: at most its timeout.
func (r *Request) Planned() time.Duration { return stepTimeout(r.Timeout) }

// MaxConnections implements PhaseSpec.
func (*Request) MaxConnections() int { return 1 }

func (r *Request) scale(func(*Duration)) {} // a step's timeout is not scaled

// Succeeded says whether status ends the step well.
func (r *Request) Succeeded(status int) bool {
	if len(r.ExpectStatus) == 0 {
		return status >= 200 && status < 300
	}
	for _, s := range r.ExpectStatus {
		if s == status {
			return true
		}
	}
	return false
}

func (r *Request) validate(v *validator, k string) {
	if r.Target == "" {
		v.fail(k+".target", "required: \"METHOD PATH-OR-URL\", e.g. \"PUT /admin/buckets/data\"")
	}
	v.template(k+".target", r.Target)
	v.template(k+".body", r.Body)
	for h, val := range r.Headers {
		v.template(k+".headers."+h, val)
	}
	for i, s := range r.ExpectStatus {
		if s < 100 || s > 599 {
			v.fail(fmt.Sprintf("%s.expect_status[%d]", k, i), "%d is not an HTTP status", s)
		}
	}
	if r.Timeout < 0 {
		v.fail(k+".timeout", "must not be negative")
	}
}

// stepTimeout is d, or DefaultStepTimeout when d is 0.
func stepTimeout(d Duration) time.Duration {
	if d <= 0 {
		return DefaultStepTimeout
	}
	return d.D()
}

func (*Request) shard(g Segment) bool { return g.First() }
func (*Request) setupStep()           {}
