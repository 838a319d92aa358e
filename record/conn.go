package record

import "time"

// Witnesses of a connection.
const (
	WitnessKernel = "kernel" // the probes, from consecutive socket dumps
	// WitnessKernelEvents is the kernel's own account of each connection
	// (inet_sock_set_state through BPF): exact open and close times,
	// closer, idle before close and bytes, one line per connection.
	WitnessKernelEvents = "kernel-events"
	WitnessBackend      = "backend" // a fake backend's ledger
	WitnessClient       = "client"  // the load clients' ledger
)

// Closers of a connection, as a witness saw it.
const (
	ClosedByClient  = "client"  // the dialling side closed it
	ClosedByServer  = "server"  // the accepting side closed it
	ClosedByTimeout = "timeout" // the witness's own idle timeout closed it
	ClosedByFault   = "fault"   // fault injection closed it
	ClosedByUnknown = "unknown"
	OpenAtEnd       = "open" // still open when the run ended
)

// Sides of a connection, as the witness's socket sees it.
const (
	SideClient = "client" // it dialled
	SideServer = "server" // it accepted
)

// Conn is one connection whose life ended (or that was still open at the
// end of the run): a line of conns.jsonl.
type Conn struct {
	Witness string `json:"witness"`
	// Source names the witness instance: a node, a backend or a phase.
	Source string    `json:"source"`
	Layer  string    `json:"layer,omitempty"`
	Side   string    `json:"side,omitempty"` // "client" or "server" from the witness's point of view
	Local  string    `json:"local,omitempty"`
	Remote string    `json:"remote,omitempty"`
	Opened time.Time `json:"opened"`
	Closed time.Time `json:"closed"` // zero when OpenAtEnd
	// Requests carried, and bytes read and written, where the witness knows them.
	Requests int64 `json:"requests,omitempty"`
	BytesIn  int64 `json:"bytes_in,omitempty"`
	BytesOut int64 `json:"bytes_out,omitempty"`
	// MaxIdleMs is the longest idle gap seen during the connection's life;
	// IdleBeforeCloseMs the idle gap that ended with the close.
	MaxIdleMs         int64  `json:"max_idle_ms"`
	IdleBeforeCloseMs int64  `json:"idle_before_close_ms,omitempty"`
	ClosedBy          string `json:"closed_by"`
	LastState         string `json:"last_state,omitempty"`
	Phase             string `json:"phase,omitempty"`
}
