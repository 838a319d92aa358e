package record

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// PhaseResult summarises the load of one phase: load/<phase>.json.
type PhaseResult struct {
	Phase    string    `json:"phase"`
	Kind     string    `json:"kind"`
	Start    time.Time `json:"start"`
	End      time.Time `json:"end"`
	Requests uint64    `json:"requests"`
	// Rate is requests per second attempted; Throughput successful ones.
	Rate       float64 `json:"rate"`
	Throughput float64 `json:"throughput"`
	Success    float64 `json:"success"` // ratio 0..1
	// Latencies in milliseconds.
	LatencyP50  float64        `json:"latency_p50_ms"`
	LatencyP90  float64        `json:"latency_p90_ms"`
	LatencyP99  float64        `json:"latency_p99_ms"`
	LatencyMax  float64        `json:"latency_max_ms"`
	StatusCodes map[string]int `json:"status_codes,omitempty"`
	// Errors counts failed requests by kind: refused, reset, timeout, eof, bad-response, other.
	Errors map[string]int `json:"errors,omitempty"`
	// ExpectStatus is the phase's expect_status: the codes counted as
	// success (empty: 100-399). Success honours it.
	ExpectStatus []int `json:"expect_status,omitempty"`
	// Examples holds one failed request per status code or error kind,
	// e.g. {"404": "GET http://127.0.0.1:8080/v1/objects/soak/k-1: 404"}.
	Examples map[string]string `json:"examples,omitempty"`
	// PlannedRequests is how many requests the phase's pacing plans over
	// its duration (0: unbounded rate, or not a rate-driven phase).
	PlannedRequests float64 `json:"planned_requests,omitempty"`
	// Conns counts client connections opened and closed by whom during the phase.
	ConnsOpened   int            `json:"conns_opened"`
	ConnsClosedBy map[string]int `json:"conns_closed_by,omitempty"`
	// Extra holds phase-kind figures, e.g. idle: {"reused_ok": 480, "reused_closed": 20}.
	Extra map[string]float64 `json:"extra,omitempty"`
	// Targets breaks a rate-driven phase's requests down by target, in the
	// order of its targets list. Its counts add up to the phase's and, like
	// them, add across shards of one phase; the latencies do not (a merge
	// recomputes them from the results file).
	Targets []TargetResult `json:"targets,omitempty"`
	// VegetaResults names the vegeta-encoded results file, relative to the run directory.
	VegetaResults string `json:"vegeta_results,omitempty"`
	// TargetIndexes names the file, relative to the run directory, that
	// says which target each result of VegetaResults went to, in the same
	// order: one uvarint per result, 1 + its index in Targets (0: a result
	// the load could place under no target). With it a merge recomputes
	// each target's latencies exactly; the load's attribution is kept, as
	// it depends on the run's rendered URLs (SUT ports, template data).
	TargetIndexes string `json:"target_indexes,omitempty"`
}

// TargetResult is the load one target of a phase got. A target is named
// as the scenario writes it ("PUT /b/{{seq}}"), not as each request rendered.
type TargetResult struct {
	Target   string `json:"target"`
	Requests uint64 `json:"requests"`
	// OK counts responses with an expected status (expect_status, else 100-399).
	OK uint64 `json:"ok"`
	// Latencies in milliseconds.
	LatencyP50  float64           `json:"latency_p50_ms"`
	LatencyP90  float64           `json:"latency_p90_ms"`
	LatencyP99  float64           `json:"latency_p99_ms"`
	LatencyMax  float64           `json:"latency_max_ms"`
	StatusCodes map[string]int    `json:"status_codes,omitempty"`
	Errors      map[string]int    `json:"errors,omitempty"`
	Examples    map[string]string `json:"examples,omitempty"`
}

// Success is the share of the target's requests that succeeded, 0..1.
func (t TargetResult) Success() float64 {
	if t.Requests == 0 {
		return 0
	}
	return float64(t.OK) / float64(t.Requests)
}

// Target returns the result of the phase's target named name.
func (r PhaseResult) Target(name string) (TargetResult, bool) {
	for _, t := range r.Targets {
		if t.Target == name {
			return t, true
		}
	}
	return TargetResult{}, false
}

// PhaseFile is the path, relative to the run directory, of a phase's file
// with suffix (".json", ".results.gob", ".log"): load/<phase><suffix>, with
// '/' in the phase name replaced so the file stays in the load directory.
func PhaseFile(phase, suffix string) string {
	name := strings.NewReplacer("/", "_", string(os.PathSeparator), "_").Replace(phase)
	return filepath.Join(LoadDir, name+suffix)
}

// TargetIndexesSuffix names a phase's PhaseResult.TargetIndexes file.
const TargetIndexesSuffix = ".targets.bin"

// CreatePhaseFile creates the phase's file with suffix in the run directory
// dir, for a phase that streams it (vegeta's results, an exec phase's log).
func CreatePhaseFile(dir, phase, suffix string) (*os.File, error) {
	if err := os.MkdirAll(filepath.Join(dir, LoadDir), 0o755); err != nil {
		return nil, fmt.Errorf("phase %s: %w", phase, err)
	}
	f, err := os.Create(filepath.Join(dir, PhaseFile(phase, suffix)))
	if err != nil {
		return nil, fmt.Errorf("phase %s: %w", phase, err)
	}
	return f, nil
}

// WritePhaseResult writes res as load/<phase>.json in the run directory dir.
func WritePhaseResult(dir string, res PhaseResult) error {
	if err := os.MkdirAll(filepath.Join(dir, LoadDir), 0o755); err != nil {
		return fmt.Errorf("phase %s: %w", res.Phase, err)
	}
	return WriteJSONAtomic(filepath.Join(dir, PhaseFile(res.Phase, ".json")), res)
}
