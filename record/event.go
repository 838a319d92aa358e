package record

import "time"

// Event kinds.
const (
	EventRunStart     = "run-start"
	EventRunEnd       = "run-end"
	EventPhaseStart   = "phase-start"
	EventPhaseEnd     = "phase-end"
	EventNodeStart    = "node-start"
	EventNodeReady    = "node-ready"
	EventNodeExit     = "node-exit"
	EventBackendStart = "backend-start"
	EventBackendStop  = "backend-stop"
	EventFaults       = "faults"
	EventWarning      = "warning"
	// EventAbort: a check with abort_on_fail certainly failed; the run stops.
	EventAbort = "abort"
)

// Event is something that happened at a moment: a line of events.jsonl.
type Event struct {
	Time    time.Time         `json:"t"`
	Kind    string            `json:"kind"`
	Name    string            `json:"name,omitempty"` // phase, node or backend name
	Message string            `json:"msg,omitempty"`
	Data    map[string]string `json:"data,omitempty"`
}
