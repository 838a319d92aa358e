package scenarios

import (
	"maps"
	"reflect"
	"slices"
	"strings"
	"time"
)

// PhaseSpec is one kind of phase: the spec type of one field of Phase's
// one-of (Steady, Idle, ...), in its own file phase_KIND.go. The family
// package load registers the implementation under the same Kind. The
// interface is sealed (validate and scale are unexported): a kind is added
// here, where the schema is.
type PhaseSpec interface {
	// Kind is the phase kind, the YAML key of its field in Phase ("idle").
	// It must not look at the receiver, which may be a nil pointer.
	Kind() string
	// Planned is how long one run of the phase is planned to last.
	Planned() time.Duration
	// MaxConnections is the most client connections one run holds open at
	// once (for the open-file limit check before any load starts).
	MaxConnections() int
	// scale applies f to every duration --duration-scale scales.
	scale(f func(*Duration))
	// shard keeps shard g's part of the rates and connection counts
	// (--shard); false when the part is nothing (the shard then sits the
	// phase out).
	shard(g Segment) bool
	// validate reports errors under path (e.g. "phases[2].idle").
	validate(v *validator, path string)
}

// CheckSpec is one kind of check: the spec type of one field of
// Expectation's one-of (ReclaimCheck, ...), in its own file check_KIND.go.
// The family package checks registers the evaluation under the same Kind.
type CheckSpec interface {
	// Kind is the check kind, the YAML key of its field in Expectation
	// ("reclaim"). It must not look at the receiver (may be a nil pointer).
	Kind() string
	// validate reports errors under path (e.g. "expect[0].reclaim").
	validate(v *validator, path string)
}

// oneOf describes a one-of struct (Phase, Expectation): which of its
// fields are kinds. Found once by reflection, so adding a kind is adding
// a field (and its file), with no list of kinds to keep in step.
type oneOf[S any] struct {
	index []int    // field indexes, in declaration order
	kinds []string // YAML keys, same order
}

func newOneOf[S any](t reflect.Type) oneOf[S] {
	var o oneOf[S]
	spec := reflect.TypeFor[S]()
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.Type.Implements(spec) {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		o.index = append(o.index, i)
		o.kinds = append(o.kinds, name)
	}
	return o
}

// set returns the kinds set in v (a *Phase or *Expectation), in field order.
func (o oneOf[S]) set(v any) []S {
	rv := reflect.ValueOf(v).Elem()
	var out []S
	for _, i := range o.index {
		if f := rv.Field(i); !f.IsNil() {
			out = append(out, f.Interface().(S))
		}
	}
	return out
}

var (
	phaseOneOf = newOneOf[PhaseSpec](reflect.TypeFor[Phase]())
	checkOneOf = newOneOf[CheckSpec](reflect.TypeFor[Expectation]())
)

// PhaseKinds are the kinds of load a phase can be, in schema order.
var PhaseKinds = phaseOneOf.kinds

// CheckKinds are the kinds of check an expectation can be, in schema order.
var CheckKinds = checkOneOf.kinds

// Spec returns the phase's kind of load, nil if none is set (the first
// if several are, which validation reports).
func (p *Phase) Spec() PhaseSpec {
	if p == nil {
		return nil
	}
	if s := phaseOneOf.set(p); len(s) > 0 {
		return s[0]
	}
	return nil
}

// Kind returns the phase's kind, e.g. "steady".
func (p *Phase) Kind() string {
	if s := p.Spec(); s != nil {
		return s.Kind()
	}
	return ""
}

// Planned returns the phase's planned duration (one run of it).
func (p *Phase) Planned() time.Duration {
	if s := p.Spec(); s != nil {
		return s.Planned()
	}
	return 0
}

// Requests returns the requests of a rate-driven phase (steady, ramp,
// burst, churn: the kinds that embed Requests), nil for other kinds.
func (p *Phase) Requests() *Requests {
	if r, ok := p.Spec().(interface{ requests() *Requests }); ok {
		return r.requests()
	}
	return nil
}

// MaxConnections is the most client connections one run of p holds open at once.
func (p *Phase) MaxConnections() int {
	if s := p.Spec(); s != nil {
		return s.MaxConnections()
	}
	return 0
}

// Spec returns the check's kind, nil if none is set.
func (e *Expectation) Spec() CheckSpec {
	if e == nil {
		return nil
	}
	if s := checkOneOf.set(e); len(s) > 0 {
		return s[0]
	}
	return nil
}

// Kind returns the check's kind, e.g. "reclaim".
func (e *Expectation) Kind() string {
	if s := e.Spec(); s != nil {
		return s.Kind()
	}
	return ""
}

// Planned returns the scenario's planned duration, repeats included. It
// saturates at 2^62 ns (146 years) instead of overflowing; validation
// refuses anything over MaxPlanned.
func (s *Scenario) Planned() time.Duration {
	var d time.Duration
	for _, p := range s.Phases {
		if p == nil {
			continue
		}
		d = min(d+satMulDur(max(p.Repeat, 1), p.Planned()), 1<<62)
	}
	return satMulDur(max(s.Cycles, 1), d)
}

// ScaleDurations multiplies every phase duration (and burst pause) by f,
// for a quick rehearsal of a long scenario. Idle timeouts are not scaled.
func (s *Scenario) ScaleDurations(f float64) {
	if f <= 0 || f == 1 {
		return
	}
	scale := func(d *Duration) {
		if *d > 0 {
			*d = Duration(max(float64(*d)*f, float64(time.Millisecond)))
		}
	}
	for _, p := range s.Phases {
		if sp := p.Spec(); sp != nil {
			sp.scale(scale)
		}
	}
}

// NodeNames returns the node names, sorted.
func (s *Scenario) NodeNames() []string { return slices.Sorted(maps.Keys(s.Nodes)) }

// BackendNames returns the backend names, sorted.
func (s *Scenario) BackendNames() []string { return slices.Sorted(maps.Keys(s.Backends)) }

// LayerNames returns the layer names, sorted.
func (s *Scenario) LayerNames() []string { return slices.Sorted(maps.Keys(s.Layers)) }
