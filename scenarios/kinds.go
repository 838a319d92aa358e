package scenarios

import (
	"sort"
	"time"
)

// PhaseKinds are the kinds of load a phase can be.
var PhaseKinds = []string{"steady", "ramp", "burst", "idle", "churn", "slow", "abandon", "quiet"}

// CheckKinds are the kinds of check an expectation can be.
var CheckKinds = []string{"reclaim", "drain", "close_wait", "no_growth", "ratio", "max", "baseline"}

func (p *Phase) kinds() []string {
	var k []string
	set := map[string]bool{"steady": p.Steady != nil, "ramp": p.Ramp != nil, "burst": p.Burst != nil, "idle": p.Idle != nil,
		"churn": p.Churn != nil, "slow": p.Slow != nil, "abandon": p.Abandon != nil, "quiet": p.Quiet != nil}
	for _, name := range PhaseKinds {
		if set[name] {
			k = append(k, name)
		}
	}
	return k
}

// Kind returns the phase's kind, e.g. "steady".
func (p *Phase) Kind() string {
	if k := p.kinds(); len(k) > 0 {
		return k[0]
	}
	return ""
}

// Kind returns the check's kind, e.g. "reclaim".
func (e *Expectation) Kind() string {
	if k := e.kinds(); len(k) > 0 {
		return k[0]
	}
	return ""
}

func (e *Expectation) kinds() []string {
	set := map[string]bool{"reclaim": e.Reclaim != nil, "drain": e.Drain != nil, "close_wait": e.CloseWait != nil,
		"no_growth": e.NoGrowth != nil, "ratio": e.Ratio != nil, "max": e.Max != nil, "baseline": e.Baseline != nil}
	var k []string
	for _, name := range CheckKinds {
		if set[name] {
			k = append(k, name)
		}
	}
	return k
}

// Planned returns the phase's planned duration (one run of it; bursts:
// their pauses only, since their length depends on the SUT).
func (p *Phase) Planned() time.Duration {
	switch {
	case p.Steady != nil:
		return p.Steady.Duration.D()
	case p.Ramp != nil:
		return p.Ramp.Duration.D()
	case p.Burst != nil:
		n := max(p.Burst.Bursts, 1)
		return time.Duration(n-1) * p.Burst.Pause.D()
	case p.Idle != nil:
		return p.Idle.Duration.D()
	case p.Churn != nil:
		return p.Churn.Duration.D()
	case p.Slow != nil:
		return p.Slow.Duration.D()
	case p.Abandon != nil:
		return p.Abandon.Duration.D()
	case p.Quiet != nil:
		return p.Quiet.Duration.D()
	}
	return 0
}

// Planned returns the scenario's planned duration, repeats included.
func (s *Scenario) Planned() time.Duration {
	var d time.Duration
	for _, p := range s.Phases {
		d += time.Duration(max(p.Repeat, 1)) * p.Planned()
	}
	return time.Duration(max(s.Cycles, 1)) * d
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
		switch {
		case p.Steady != nil:
			scale(&p.Steady.Duration)
		case p.Ramp != nil:
			scale(&p.Ramp.Duration)
		case p.Burst != nil:
			scale(&p.Burst.Pause)
		case p.Idle != nil:
			scale(&p.Idle.Duration)
		case p.Churn != nil:
			scale(&p.Churn.Duration)
		case p.Slow != nil:
			scale(&p.Slow.Duration)
		case p.Abandon != nil:
			scale(&p.Abandon.Duration)
		case p.Quiet != nil:
			scale(&p.Quiet.Duration)
		}
	}
}

// NodeNames returns the node names, sorted.
func (s *Scenario) NodeNames() []string { return sortedKeys(s.Nodes) }

// BackendNames returns the backend names, sorted.
func (s *Scenario) BackendNames() []string { return sortedKeys(s.Backends) }

// LayerNames returns the layer names, sorted.
func (s *Scenario) LayerNames() []string {
	names := sortedKeys(s.Layers)
	sort.Strings(names)
	return names
}
