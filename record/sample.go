package record

import "time"

// Sample is one tick of the probes for one node: a line of samples.jsonl.
// Every part is optional: a probe that failed leaves its part nil and says
// why in Errors, so a partial sample is still data.
type Sample struct {
	Time       time.Time   `json:"t"`
	Node       string      `json:"node"`
	PID        int         `json:"pid,omitempty"`
	Goroutines *Goroutines `json:"goroutines,omitempty"`
	FDs        *FDs        `json:"fds,omitempty"`
	Sockets    *Sockets    `json:"sockets,omitempty"`
	Process    *Process    `json:"proc,omitempty"`
	// Events counts what the kernel event witness saw so far (cumulative);
	// nil when the node is watched by polling only.
	Events *EventStats `json:"events,omitempty"`
	// Values are the figures of series probe sources register (package
	// series, Def), by series name, e.g. "ctxswitch.voluntary": a source
	// added later needs no field here. Finite numbers only.
	Values map[string]float64 `json:"values,omitempty"`
	// Errors holds one "probe: reason" entry per probe that failed this tick.
	Errors []string `json:"errors,omitempty"`
	// Gone is set when the process no longer exists; sampling of the node stops.
	Gone bool `json:"gone,omitempty"`
}

// Goroutine sources, best first.
const (
	SourcePprof   = "pprof"   // /debug/pprof/goroutine?debug=1, with classes
	SourceMetrics = "metrics" // Prometheus go_goroutines, total only
	SourceThreads = "threads" // OS threads from /proc (non-Go servers)
)

// Goroutine classes.
const (
	ClassServerConn     = "server-conn"     // net/http (*conn).serve
	ClassTransportRead  = "transport-read"  // net/http (*persistConn).readLoop
	ClassTransportWrite = "transport-write" // net/http (*persistConn).writeLoop
	ClassFasthttpServer = "fasthttp-server" // fasthttp worker goroutines
	ClassFasthttpClient = "fasthttp-client" // fasthttp client connection goroutines
	ClassOther          = "other"
)

// Goroutines counts the node's goroutines (or threads, see Source).
type Goroutines struct {
	Total   int            `json:"total"`
	Source  string         `json:"source"`
	ByClass map[string]int `json:"by_class,omitempty"`
	// Top holds the few largest stacks of class other, so a report can name what grows.
	Top []Stack `json:"top,omitempty"`
}

// Stack is one group of identical goroutine stacks.
type Stack struct {
	Count int    `json:"n"`
	Func  string `json:"func"` // the innermost frame outside the runtime
}

// FD types.
const (
	FDSocket = "socket"
	FDFile   = "file"
	FDPipe   = "pipe"
	FDAnon   = "anon"
	FDOther  = "other"
)

// FDs counts the node's open file descriptors.
type FDs struct {
	Total  int            `json:"total"`
	Limit  uint64         `json:"limit,omitempty"` // soft RLIMIT_NOFILE
	ByType map[string]int `json:"by_type,omitempty"`
	Source string         `json:"source,omitempty"` // FDSourceBPF or FDSourceProc
}

// How the file descriptors were listed.
const (
	FDSourceBPF  = "bpf"  // a BPF task_file iterator: type from the inode
	FDSourceProc = "proc" // /proc/PID/fd: type from the link text
)

// Socket methods.
const (
	MethodNetlink = "netlink" // sock_diag INET_DIAG with tcp_info: kernel idle ages
	MethodProc    = "proc"    // /proc/PID/net/tcp: idle age estimated from first seen
)

// LayerOther names sockets that match no layer rule.
const LayerOther = "other"

// Sockets are the node's TCP sockets, by layer.
type Sockets struct {
	Method string `json:"method"`
	NetNS  string `json:"netns,omitempty"` // e.g. "net:[4026531840]"
	// Layers by name; LayerOther for unmatched sockets. Listening sockets are not counted.
	Layers map[string]*LayerSockets `json:"layers"`
	// Partial is set when the dump was interrupted (the counts may be low).
	Partial bool `json:"partial,omitempty"`
}

// LayerSockets summarises the sockets of one layer on one node.
type LayerSockets struct {
	// ByState counts sockets by kernel state name: ESTABLISHED, TIME_WAIT, CLOSE_WAIT,
	// FIN_WAIT1, FIN_WAIT2, LAST_ACK, CLOSING, SYN_SENT, SYN_RECV.
	ByState map[string]int `json:"states,omitempty"`
	// Idle summarises idle ages (ms) of ESTABLISHED sockets.
	Idle *IdleStats `json:"idle,omitempty"`
	// IdleConns counts ESTABLISHED sockets idle for at least IdleThresholdMs.
	IdleConns int `json:"idle_conns,omitempty"`
	// CloseWaitMaxAgeMs is the longest time any socket has been seen in CLOSE_WAIT.
	CloseWaitMaxAgeMs int64 `json:"close_wait_max_age_ms,omitempty"`
	// Sides counts ESTABLISHED sockets by side: "server" (accepted) or "client" (dialled).
	Sides map[string]int `json:"sides,omitempty"`
}

// Established returns the number of ESTABLISHED sockets.
func (l *LayerSockets) Established() int {
	if l == nil {
		return 0
	}
	return l.ByState["ESTABLISHED"]
}

// IdleThresholdMs is the idle age from which an ESTABLISHED socket counts as idle.
const IdleThresholdMs = 1000

// IdleBucketsMs are the upper bounds (ms) of the idle-age histogram buckets;
// the histogram has one more bucket for everything above the last bound.
var IdleBucketsMs = []int64{100, 250, 500, 1000, 2000, 5000, 10000, 20000, 30000, 60000, 120000, 300000, 600000}

// IdleStats summarises idle ages in milliseconds.
type IdleStats struct {
	Max  int64 `json:"max"`
	P50  int64 `json:"p50"`
	P99  int64 `json:"p99"`
	Hist []int `json:"hist,omitempty"` // len(IdleBucketsMs)+1 counts
	// Estimated is set when ages come from first-seen times, not the kernel.
	Estimated bool `json:"estimated,omitempty"`
}

// Process holds OS facts of the node.
type Process struct {
	RSS        uint64  `json:"rss"`
	CPUSeconds float64 `json:"cpu_s"`
	Threads    int     `json:"threads"`
}

// EventStats are the kernel event witness's counts since it started.
type EventStats struct {
	Witness string `json:"witness"` // WitnessKernelEvents
	Opened  int64  `json:"opened"`  // connections seen established
	Closed  int64  `json:"closed"`  // connections seen closed (a conns.jsonl line each)
	// Short counts closed connections that lived less than one sample
	// interval: polling may never have seen them.
	Short int64 `json:"short"`
	// Lost counts events the kernel dropped because the ring buffer was full.
	Lost int64 `json:"lost"`
	// Unseen counts closes of connections whose open was not seen (opened
	// before the witness started, or its event lost).
	Unseen int64 `json:"unseen,omitempty"`
	// Dropped counts closed connections not recorded because more than
	// the witness keeps waited for a sample to take them (an exporter
	// left unscraped).
	Dropped int64 `json:"dropped,omitempty"`
	// Error says why the witness stopped reading, if it did.
	Error string `json:"error,omitempty"`
}
