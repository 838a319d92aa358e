package scenarios

import "time"

// Defaults applied by ParseScenario to fields a file leaves empty.
const (
	DefaultPortName     = "http"
	DefaultHost         = "127.0.0.1"
	DefaultReadyTimeout = Duration(30 * time.Second)
	DefaultStopGrace    = Duration(5 * time.Second)
)

func (s *Scenario) applyDefaults() {
	if s.Cycles == 0 {
		s.Cycles = 1
	}
	if s.Interval == 0 {
		s.Interval = DefaultInterval
	}
	for _, n := range s.Nodes {
		if len(n.Ports) == 0 {
			n.Ports = []string{DefaultPortName}
		}
		if n.Host == "" {
			n.Host = DefaultHost
		}
		if n.ReadyTimeout == 0 {
			n.ReadyTimeout = DefaultReadyTimeout
		}
		if n.StopGrace == 0 {
			n.StopGrace = DefaultStopGrace
		}
	}
	for _, p := range s.Phases {
		if p.Repeat == 0 {
			p.Repeat = 1
		}
	}
}
