// Package scenarios holds the scenario schema, its strict parsing with
// file:line:col errors, validation, address templating and the built-in
// scenarios. docs/scenarios.md documents every field; scenario.schema.json
// lets editors complete and check files.
package scenarios

// Scenario is one soak: what to start, what load to put on it, what must hold.
type Scenario struct {
	// Name identifies the scenario in reports and run directory names. Required.
	Name string `yaml:"name" json:"name"`
	// Description is free text shown in the report.
	Description string `yaml:"description,omitempty" json:"description,omitempty"`
	// Interval is the probe sampling interval. Default 1s; at least 100ms.
	Interval Duration `yaml:"interval,omitempty" json:"interval,omitempty"`
	// Vars are free strings for templates ({{.Vars.NAME}}), so one file can
	// describe variants chosen with --set vars.NAME=VALUE (e.g. an engine).
	Vars map[string]string `yaml:"vars,omitempty" json:"vars,omitempty"`
	// Target is the base URL that phase requests go to, templated
	// (e.g. "{{.Nodes.proxy.URL}}"). Default: the URL of the first node.
	Target string `yaml:"target,omitempty" json:"target,omitempty"`
	// Backends are fake cloud backends soak runs for the SUT, by name.
	Backends map[string]*Backend `yaml:"backends,omitempty" json:"backends,omitempty"`
	// Nodes are the SUT processes, by name. At least one.
	Nodes map[string]*Node `yaml:"nodes" json:"nodes"`
	// Layers are the connection layers to watch, by name (e.g. client, intra, backend).
	Layers map[string]*Layer `yaml:"layers,omitempty" json:"layers,omitempty"`
	// Phases run in order. At least one.
	Phases []*Phase `yaml:"phases" json:"phases"`
	// Cycles runs the whole phase list this many times (default 1), so a
	// nightly scenario repeats its load/hold/drain cycle for hours. The nth
	// run of a phase is named "NAME#n" in the run directory.
	Cycles int `yaml:"cycles,omitempty" json:"cycles,omitempty"`
	// Expect lists the checks. Empty: reclaim and drain for every layer, and
	// no_growth of goroutines and fds (see checks.Defaults).
	Expect []*Expectation `yaml:"expect,omitempty" json:"expect,omitempty"`
	// Isolate runs the whole soak in a fresh network namespace.
	Isolate *Isolate `yaml:"isolate,omitempty" json:"isolate,omitempty"`
}

// DefaultInterval is the probe sampling interval when a scenario sets none.
const DefaultInterval = Duration(1e9)

// Isolate asks for a fresh network namespace for the run.
type Isolate struct {
	// Loopback lists the loopback addresses to bring up in the namespace.
	// Default [127.0.0.1].
	Loopback []string `yaml:"loopback,omitempty" json:"loopback,omitempty"`
}

// Backend is a fake cloud backend.
type Backend struct {
	// Kind is the kind of backend: azure, gcs or s3 (BackendKinds). Required.
	Kind string `yaml:"kind" json:"kind"`
	// Listen is the address to bind. Default 127.0.0.1 on a free port.
	Listen string `yaml:"listen,omitempty" json:"listen,omitempty"`
	// IdleTimeout closes connections idle this long, like a cloud would. 0 (default): never.
	IdleTimeout Duration `yaml:"idle_timeout,omitempty" json:"idle_timeout,omitempty"`
	// Buckets are created at start (S3 buckets, GCS buckets, Azure containers).
	Buckets []string `yaml:"buckets,omitempty" json:"buckets,omitempty"`
	// AccessKey and SecretKey are the credentials handed to the SUT (templated as
	// {{.Backends.NAME.AccessKey}}). Default: soak / soaksecret.
	AccessKey string `yaml:"access_key,omitempty" json:"access_key,omitempty"`
	SecretKey string `yaml:"secret_key,omitempty" json:"secret_key,omitempty"`
	// VerifySignatures rejects requests whose SigV4 signature does not match (S3).
	VerifySignatures bool `yaml:"verify_signatures,omitempty" json:"verify_signatures,omitempty"`
	// VirtualHostBases are host names (no port) under which S3 takes
	// virtual-hosted-style requests: Host BUCKET.BASE[:port], or
	// BUCKET.NAME.BASE, is served as bucket BUCKET. localhost is always a
	// base. Give the host of the endpoint the SUT is configured with, e.g.
	// 127.0.0.1.nip.io. Default: none besides localhost.
	VirtualHostBases []string `yaml:"virtual_host_bases,omitempty" json:"virtual_host_bases,omitempty"`
	// Objects configures object storage.
	Objects *Objects `yaml:"objects,omitempty" json:"objects,omitempty"`
	// Faults are injected from the start; phases may change them.
	Faults *Faults `yaml:"faults,omitempty" json:"faults,omitempty"`
}

// Objects configures a backend's object store.
type Objects struct {
	// MaxBytes caps the bytes held in memory. Default 256MiB; over it: the cloud's quota error.
	MaxBytes ByteSize `yaml:"max_bytes,omitempty" json:"max_bytes,omitempty"`
	// MaxCount caps the number of objects. Default 100000.
	MaxCount int `yaml:"max_count,omitempty" json:"max_count,omitempty"`
	// Synthetic objects: a GET of any key under Prefix (in any bucket) returns
	// Size deterministic bytes without a prior PUT.
	Synthetic []*Synthetic `yaml:"synthetic,omitempty" json:"synthetic,omitempty"`
}

// Synthetic describes generated objects.
type Synthetic struct {
	Prefix string   `yaml:"prefix" json:"prefix"`
	Size   ByteSize `yaml:"size" json:"size"`
}

// Faults describes fault injection on a backend. Rates are probabilities
// per request (0..1). Zero values inject nothing.
type Faults struct {
	// Seed makes the fault sequence repeatable. Default 1.
	Seed int64 `yaml:"seed,omitempty" json:"seed,omitempty"`
	// Latency is added before each response; LatencyJitter adds a uniform random 0..jitter.
	Latency       Duration `yaml:"latency,omitempty" json:"latency,omitempty"`
	LatencyJitter Duration `yaml:"latency_jitter,omitempty" json:"latency_jitter,omitempty"`
	// ErrorRate answers with ErrorCode (503 SlowDown by default, or 500 InternalError).
	ErrorRate float64 `yaml:"error_rate,omitempty" json:"error_rate,omitempty"`
	ErrorCode int     `yaml:"error_code,omitempty" json:"error_code,omitempty"`
	// ResetRate resets the connection mid-response.
	ResetRate float64 `yaml:"reset_rate,omitempty" json:"reset_rate,omitempty"`
	// StallRate sends headers and part of the body, then never finishes (until the client gives up).
	StallRate float64 `yaml:"stall_rate,omitempty" json:"stall_rate,omitempty"`
	// SlowBody caps response body speed, in bytes per second. 0: no cap.
	SlowBody ByteSize `yaml:"slow_body,omitempty" json:"slow_body,omitempty"`
	// RefuseFor refuses (closes at once) new connections for this long from when the faults take effect.
	RefuseFor Duration `yaml:"refuse_for,omitempty" json:"refuse_for,omitempty"`
	// CloseIdleAfter closes connections idle this long, earlier than the SUT
	// expects, to test its retry on a reused-but-dead connection. 0: off.
	CloseIdleAfter Duration `yaml:"close_idle_after,omitempty" json:"close_idle_after,omitempty"`
}

// Node is one SUT process: started by soak (Command), attached (Attach),
// or read from elsewhere (Remote).
type Node struct {
	// Command is the argv, templated, run without a shell. Exactly one of Command, Attach and Remote.
	Command []string `yaml:"command,omitempty" json:"command,omitempty"`
	// Env adds templated variables to soak's environment for the process.
	Env map[string]string `yaml:"env,omitempty" json:"env,omitempty"`
	// EnvUnset names variables of soak's environment the process must not
	// inherit (e.g. SSL_CERT_FILE); "*" inherits none. Env is added after.
	EnvUnset []string `yaml:"env_unset,omitempty" json:"env_unset,omitempty"`
	// Files are written into the run directory before the node starts, by
	// relative path, their text templated like the command: e.g. a generated
	// nginx.conf that listens on {{.Nodes.NAME.Addr}}.
	Files map[string]string `yaml:"files,omitempty" json:"files,omitempty"`
	// Dir is the working directory. Default: the run directory. A relative
	// Dir resolves against the scenario file's folder.
	Dir string `yaml:"dir,omitempty" json:"dir,omitempty"`
	// Ports names the ports soak allocates for the node on its Host (templated
	// as {{.Nodes.NAME.Ports.NAME}}). The first is the node's main port
	// ({{.Nodes.NAME.Addr}}, {{.Nodes.NAME.URL}}). Default [http].
	Ports []string `yaml:"ports,omitempty" json:"ports,omitempty"`
	// Host is the address the node's ports are on. Default 127.0.0.1.
	Host string `yaml:"host,omitempty" json:"host,omitempty"`
	// Ready is a templated URL (http://...: answered with any status < 500) or
	// tcp://HOST:PORT (accepting) that tells the node is up. Default: tcp on the main port.
	Ready string `yaml:"ready,omitempty" json:"ready,omitempty"`
	// ReadyTimeout bounds the wait for Ready. Default 30s.
	ReadyTimeout Duration `yaml:"ready_timeout,omitempty" json:"ready_timeout,omitempty"`
	// StopGrace is how long soak waits after SIGTERM before SIGKILL. Default 5s.
	StopGrace Duration `yaml:"stop_grace,omitempty" json:"stop_grace,omitempty"`
	// Goroutines is a templated URL of the node's /debug/pprof/goroutine?debug=1.
	// Default: none (then Metrics, then OS threads).
	Goroutines string `yaml:"goroutines,omitempty" json:"goroutines,omitempty"`
	// Metrics is a templated URL of Prometheus metrics (go_goroutines). Default: none.
	Metrics string `yaml:"metrics,omitempty" json:"metrics,omitempty"`
	// Engine is informational: "net/http", "fasthttp", "nginx"... shown in reports
	// and used by checks that depend on goroutines per connection.
	Engine string `yaml:"engine,omitempty" json:"engine,omitempty"`
	// Attach probes a process soak did not start.
	Attach *Attach `yaml:"attach,omitempty" json:"attach,omitempty"`
	// Remote reads the samples of a process soak neither starts nor probes
	// (on another host, in a pod) from its exporter or from Prometheus.
	Remote *Remote `yaml:"remote,omitempty" json:"remote,omitempty"`
}

// Remote names where a remote node's samples come from: its `soak probe
// --listen` exporter, scraped by soak every interval, or a Prometheus that
// scrapes that exporter, queried (query_range) every ReadEvery while the
// run goes on and once more when it ends. Exactly one of Prometheus and
// Exporter.
type Remote struct {
	// Prometheus is the base URL of a Prometheus server, e.g. http://prometheus:9090.
	Prometheus string `yaml:"prometheus,omitempty" json:"prometheus,omitempty"`
	// Match selects the node's series in Prometheus: label matchers in
	// braces, e.g. '{instance="10.0.0.2:9469"}'; it must select one
	// process. Required with prometheus.
	Match string `yaml:"match,omitempty" json:"match,omitempty"`
	// Step is the query resolution: set it to the exporter's scrape
	// interval. Default: the scenario's interval.
	Step Duration `yaml:"step,omitempty" json:"step,omitempty"`
	// ReadEvery is how often soak reads the node's new samples from
	// Prometheus during the run (live figures, abort_on_fail). Default:
	// 4 steps, at least 15s and at most 2m. At least the step.
	ReadEvery Duration `yaml:"read_every,omitempty" json:"read_every,omitempty"`
	// Exporter is the URL of the node's soak probe --listen metrics, e.g.
	// http://10.0.0.2:9469/metrics.
	Exporter string `yaml:"exporter,omitempty" json:"exporter,omitempty"`
	// Node is the exporter's node label to read when it serves several
	// processes. Default: its only node, else the one named like this node.
	Node string `yaml:"node,omitempty" json:"node,omitempty"`
	// URL is the node's base URL (its main port), as for attach: templates
	// ({{.Nodes.NAME.URL}}), the default target and layer ports come from
	// it. Required.
	URL string `yaml:"url" json:"url"`
}

// Attach names a running process to probe but not start or stop.
type Attach struct {
	PID     int    `yaml:"pid,omitempty" json:"pid,omitempty"`
	PIDFile string `yaml:"pid_file,omitempty" json:"pid_file,omitempty"`
	// URL is the node's base URL (its main address), e.g. http://127.0.0.1:8080.
	URL string `yaml:"url,omitempty" json:"url,omitempty"`
}

// Layer is one connection layer, classified from the socket 4-tuple:
// on Node's sockets, local port = a port of Listen (a node) means the server
// side of the layer; remote port = a port of Peer (a node or a backend)
// means the client side. Set Listen, Peer, or both. When Peer is a node,
// that node's sockets on its own ports are the server side of the same
// layer (the other end of the same connections) and are classified too.
type Layer struct {
	// Node whose sockets are classified. Required.
	Node string `yaml:"node" json:"node"`
	// Listen is a node whose listening ports mark the server side (usually Node itself).
	Listen string `yaml:"listen,omitempty" json:"listen,omitempty"`
	// Peer is a node or backend whose ports mark the client side.
	Peer string `yaml:"peer,omitempty" json:"peer,omitempty"`
	// Ports narrows Listen/Peer to these named ports. Default: all of them.
	Ports []string `yaml:"ports,omitempty" json:"ports,omitempty"`
	// IdleTimeout is the idle timeout the SUT is configured with on this layer. Required.
	IdleTimeout Duration `yaml:"idle_timeout" json:"idle_timeout"`
}

// Phase is one step of load. Exactly one kind is set.
type Phase struct {
	// Name is unique in the scenario. Required.
	Name string `yaml:"name" json:"name"`
	// Repeat runs the phase N times in a row (N >= 1). Default 1.
	Repeat int `yaml:"repeat,omitempty" json:"repeat,omitempty"`
	// Faults replaces the named backends' faults from this phase on.
	Faults map[string]*Faults `yaml:"faults,omitempty" json:"faults,omitempty"`

	// The kinds of load (PhaseSpec), each in its file phase_KIND.go: adding
	// a field here adds a kind (kinds.go finds them by reflection).

	Steady  *Steady  `yaml:"steady,omitempty" json:"steady,omitempty"`
	Ramp    *Ramp    `yaml:"ramp,omitempty" json:"ramp,omitempty"`
	Burst   *Burst   `yaml:"burst,omitempty" json:"burst,omitempty"`
	Idle    *Idle    `yaml:"idle,omitempty" json:"idle,omitempty"`
	Churn   *Churn   `yaml:"churn,omitempty" json:"churn,omitempty"`
	Slow    *Slow    `yaml:"slow,omitempty" json:"slow,omitempty"`
	Abandon *Abandon `yaml:"abandon,omitempty" json:"abandon,omitempty"`
	Quiet   *Quiet   `yaml:"quiet,omitempty" json:"quiet,omitempty"`
	Request *Request `yaml:"request,omitempty" json:"request,omitempty"`
	Exec    *Exec    `yaml:"exec,omitempty" json:"exec,omitempty"`
}

// Expectation is one check. Exactly one kind is set.
type Expectation struct {
	// The kinds of check (CheckSpec), each in its file check_KIND.go: adding
	// a field here adds a kind (kinds.go finds them by reflection).

	Reclaim   *ReclaimCheck   `yaml:"reclaim,omitempty" json:"reclaim,omitempty"`
	Drain     *DrainCheck     `yaml:"drain,omitempty" json:"drain,omitempty"`
	CloseWait *CloseWaitCheck `yaml:"close_wait,omitempty" json:"close_wait,omitempty"`
	NoGrowth  *NoGrowthCheck  `yaml:"no_growth,omitempty" json:"no_growth,omitempty"`
	Ratio     *RatioCheck     `yaml:"ratio,omitempty" json:"ratio,omitempty"`
	Max       *MaxCheck       `yaml:"max,omitempty" json:"max,omitempty"`
	Baseline  *BaselineCheck  `yaml:"baseline,omitempty" json:"baseline,omitempty"`
	Load      *LoadCheck      `yaml:"load,omitempty" json:"load,omitempty"`

	// AbortOnFail stops the run as soon as this check has certainly failed
	// (k6's abortOnFail): the load stops, the data is kept, the report is
	// written and soak exits 1. Default false; --fail-fast sets it for all.
	AbortOnFail bool `yaml:"abort_on_fail,omitempty" json:"abort_on_fail,omitempty"`
}
