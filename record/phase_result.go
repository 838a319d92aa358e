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
	// VegetaResults names the vegeta-encoded results file, relative to the run directory.
	VegetaResults string `json:"vegeta_results,omitempty"`
}

// PhaseFile is the path, relative to the run directory, of a phase's file
// with suffix (".json", ".results.gob", ".log"): load/<phase><suffix>, with
// '/' in the phase name replaced so the file stays in the load directory.
func PhaseFile(phase, suffix string) string {
	name := strings.NewReplacer("/", "_", string(os.PathSeparator), "_").Replace(phase)
	return filepath.Join(LoadDir, name+suffix)
}

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
