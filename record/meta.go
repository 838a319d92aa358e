package record

import "time"

// How a run ended.
const (
	EndedCompleted   = "completed"
	EndedInterrupted = "interrupted"
	EndedSUTFailed   = "sut-failed"
	EndedError       = "error"
	EndedAborted     = "aborted" // a check with abort_on_fail failed: the run stopped early
	EndedKilled      = "killed"  // set by readers when meta.json has no end
)

// Meta describes a run: meta.json, rewritten atomically at start, at each
// phase boundary and at the end.
type Meta struct {
	Format       int       `json:"format"`
	SoakVersion  string    `json:"soak_version"`
	Scenario     string    `json:"scenario"`
	ScenarioFile string    `json:"scenario_file,omitempty"`
	Name         string    `json:"name"`
	Host         string    `json:"host"`
	Kernel       string    `json:"kernel,omitempty"`
	GoVersion    string    `json:"go_version"`
	Args         []string  `json:"args,omitempty"`
	Start        time.Time `json:"start"`
	End          time.Time `json:"end,omitempty"`
	// Ended is one of the Ended* constants; empty while running.
	Ended    string `json:"ended,omitempty"`
	ExitCode int    `json:"exit_code,omitempty"`
	// Cause explains an ended run that did not complete, or that lost data.
	Cause string `json:"cause,omitempty"`
	// Lost lists the data the run failed to keep (a write that failed, a
	// full disk, samples that stopped), one line each; such a run exits 3.
	Lost []string `json:"lost,omitempty"`
	// InconclusiveFails records --inconclusive-fails, so that a recheck
	// (soak report --recheck) reaches the verdict the run did.
	InconclusiveFails bool `json:"inconclusive_fails,omitempty"`

	IntervalMs    int64                  `json:"interval_ms"`
	DurationScale float64                `json:"duration_scale,omitempty"`
	Nodes         map[string]NodeMeta    `json:"nodes"`
	Backends      map[string]BackendMeta `json:"backends,omitempty"`
	Layers        map[string]LayerMeta   `json:"layers,omitempty"`
	Phases        []PhaseMeta            `json:"phases"`
	// Isolated is set when the run had a network namespace of its own; NetNS names it.
	Isolated bool   `json:"isolated,omitempty"`
	NetNS    string `json:"netns,omitempty"`
	// ProbeMethods says which method each probe used per node, e.g.
	// {"sockets/proxy": "netlink", "fds/proxy": "bpf"}.
	ProbeMethods map[string]string `json:"probe_methods,omitempty"`
	// Shard is set on a run of one shard of the load (soak run --shard
	// I/N): scenario.yaml is the whole scenario, the load was its part.
	Shard *ShardMeta `json:"shard,omitempty"`
	// Shards lists the shard runs `soak merge` joined into this one.
	Shards []ShardMeta `json:"shards,omitempty"`
	// TimerLateness is how late soak's own timer woke during the run;
	// nil in runs recorded before it was measured (or killed before the end).
	TimerLateness *TimerLateness `json:"timer_lateness,omitempty"`
}

// TimerLateness is the machine's timer lateness over a run, measured as
// cyclictest does: a goroutine sleeps StepMs again and again and records
// how much later than asked each wake-up came (internal/lateness). A
// SUT's idle timer on the same machine fires late by as much, so the
// reclaim check widens its default tolerance by MaxMs.
type TimerLateness struct {
	StepMs  int64 `json:"step_ms"`
	Samples int64 `json:"samples"`
	// P50Ms and P99Ms are upper bounds (12.5% buckets); MaxMs is exact.
	P50Ms float64 `json:"p50_ms"`
	P99Ms float64 `json:"p99_ms"`
	MaxMs float64 `json:"max_ms"`
}

// Max is MaxMs as a duration, rounded to the millisecond; 0 when t is nil.
func (t *TimerLateness) Max() time.Duration {
	if t == nil || !(t.MaxMs > 0) {
		return 0
	}
	ms := min(t.MaxMs, float64(24*time.Hour/time.Millisecond)) // meta.json is untrusted: no overflow
	return (time.Duration(ms * float64(time.Millisecond))).Round(time.Millisecond)
}

// ShardMeta is one shard of a sharded run: shard Index of Count (1-based).
// In a merged run's Shards it also names the shard's run directory (its
// base name, as given to soak merge) and where and when it ran.
type ShardMeta struct {
	Index int       `json:"index"`
	Count int       `json:"count"`
	Dir   string    `json:"dir,omitempty"`
	Host  string    `json:"host,omitempty"`
	Start time.Time `json:"start,omitzero"`
	End   time.Time `json:"end,omitzero"`
}

// NodeMeta describes one SUT node.
type NodeMeta struct {
	PID      int            `json:"pid,omitempty"`
	Command  []string       `json:"command,omitempty"`
	Attached bool           `json:"attached,omitempty"`
	Addr     string         `json:"addr,omitempty"`
	Ports    map[string]int `json:"ports,omitempty"`
	Engine   string         `json:"engine,omitempty"`
	Log      string         `json:"log,omitempty"` // path relative to the run directory
	// Remote says where a remote node's samples came from (soak neither
	// started nor probed it); nil for a local node.
	Remote *RemoteMeta `json:"remote,omitempty"`
}

// RemoteMeta describes the source of a remote node's samples.
type RemoteMeta struct {
	// Source is "exporter" (scraped by soak every interval) or
	// "prometheus" (query_range over the run's window).
	Source string `json:"source"`
	URL    string `json:"url"`
	// Match is the Prometheus selector of the node's series.
	Match string `json:"match,omitempty"`
	// StepMs is the resolution of the samples: the query step, or the
	// sampling interval for an exporter.
	StepMs int64 `json:"step_ms"`
	// ScrapeIntervalMs is how often Prometheus scraped the node's exporter
	// at the run's start (the median gap of its samples); 0 when unknown.
	ScrapeIntervalMs int64 `json:"scrape_interval_ms,omitempty"`
	// Samples is how many samples Prometheus gave for the run's window;
	// Error why reading them failed, if it did.
	Samples int    `json:"samples,omitempty"`
	Error   string `json:"error,omitempty"`
}

// BackendMeta describes one fake backend.
type BackendMeta struct {
	Kind        string `json:"kind"`
	URL         string `json:"url"`
	IdleTimeout int64  `json:"idle_timeout_ms,omitempty"`
}

// LayerMeta describes one connection layer and its expected idle timeout.
type LayerMeta struct {
	Node          string `json:"node"`
	Listen        string `json:"listen,omitempty"`
	Peer          string `json:"peer,omitempty"`
	IdleTimeoutMs int64  `json:"idle_timeout_ms"`
	LocalPorts    []int  `json:"local_ports,omitempty"`
	RemotePorts   []int  `json:"remote_ports,omitempty"`
}

// PhaseMeta is one phase as it ran (repeated phases appear once per run,
// named "name#2", "name#3"...).
type PhaseMeta struct {
	Name  string    `json:"name"`
	Base  string    `json:"base"` // the scenario's phase name
	Kind  string    `json:"kind"`
	Start time.Time `json:"start"`
	End   time.Time `json:"end,omitempty"`
	// Planned is the phase's planned duration in ms.
	PlannedMs int64 `json:"planned_ms"`
	// Cycle is the 1-based cycle (scenario `cycles:`) this run of the phase
	// belongs to, and Rep its 1-based repetition (`repeat:`) within the
	// cycle. 0 in runs recorded before they were written.
	Cycle int `json:"cycle,omitempty"`
	Rep   int `json:"rep,omitempty"`
}
