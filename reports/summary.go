package reports

import (
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/soak-dev/soak/internal/stats"
	"github.com/soak-dev/soak/record"
)

// SummaryFormat is the version of summary.json written by this package.
const SummaryFormat = 1

// Summary holds the headline figures of one run: summary.json, for --json
// consumers and for Compare.
type Summary struct {
	Format    int       `json:"format"`
	Run       string    `json:"run"`
	Scenario  string    `json:"scenario"`
	Ended     string    `json:"ended"`
	Cause     string    `json:"cause,omitempty"`
	Start     time.Time `json:"start"`
	End       time.Time `json:"end"`
	DurationS float64   `json:"duration_s"`
	// Phases lists the phases as they ran, with their base (scenario) names.
	Phases []record.PhaseMeta      `json:"phases"`
	Nodes  map[string]NodeSummary  `json:"nodes"`
	Layers map[string]LayerSummary `json:"layers"`
	Load   LoadSummary             `json:"load"`
	// Verdict is nil when the run has no verdict.json yet.
	Verdict *VerdictSummary `json:"verdict,omitempty"`
	// Figures is every headline figure under a flat name (see docs/reports.md),
	// the names --fail-on rules use: "goroutines.peak", "backend.max_idle"...
	Figures map[string]float64 `json:"figures"`
	// Cycles is how many cycles (scenario `cycles:`) the run went through;
	// Spread holds, per figure, the range (max-min) of that figure's
	// per-cycle values, when there were 2 cycles or more (see noise.go).
	Cycles int                `json:"cycles,omitempty"`
	Spread map[string]float64 `json:"spread,omitempty"`
	// LowerBounds lists the figures that are only lower bounds (e.g. a
	// layer's reclaimed_after where the hold always ended first).
	LowerBounds []string `json:"lower_bounds,omitempty"`
	// Notes says what could not be computed and why.
	Notes []string `json:"notes,omitempty"`
}

// NodeSummary holds the figures of one SUT node.
type NodeSummary struct {
	Samples         int    `json:"samples"`
	GoroutineSource string `json:"goroutine_source,omitempty"`
	SocketMethod    string `json:"socket_method,omitempty"`
	// Gone is set when the node's process disappeared during the run.
	Gone           bool    `json:"gone,omitempty"`
	GoroutinesPeak float64 `json:"goroutines_peak"`
	GoroutinesEnd  float64 `json:"goroutines_end"`
	// GoroutinesSlope is the Theil-Sen slope of goroutines over the run, per hour.
	GoroutinesSlope float64 `json:"goroutines_slope_per_h"`
	// GoroutinesPerConn is the fitted slope of goroutines against established sockets.
	GoroutinesPerConn float64        `json:"goroutines_per_conn"`
	FDPeak            float64        `json:"fd_peak"`
	FDEnd             float64        `json:"fd_end"`
	RSSPeak           float64        `json:"rss_peak_bytes"`
	RSSEnd            float64        `json:"rss_end_bytes"`
	ProbeErrors       map[string]int `json:"probe_errors,omitempty"`
}

// LayerSummary holds the figures of one connection layer, over all nodes.
type LayerSummary struct {
	Node            string  `json:"node,omitempty"`
	IdleTimeoutS    float64 `json:"idle_timeout_s,omitempty"`
	PeakEstablished float64 `json:"peak_established"`
	EndEstablished  float64 `json:"end_established"`
	PeakTimeWait    float64 `json:"peak_time_wait"`
	PeakCloseWait   float64 `json:"peak_close_wait"`
	// MaxIdleS is the largest kernel idle age seen (seconds).
	MaxIdleS float64 `json:"max_idle_s"`
	// Conns counts finished connections by witness; ClosedBy by closer, all witnesses.
	Conns    map[string]int `json:"conns,omitempty"`
	ClosedBy map[string]int `json:"closed_by,omitempty"`
	// MaxIdleByWitnessS is the longest idle gap each connection witness saw.
	MaxIdleByWitnessS map[string]float64 `json:"max_idle_by_witness_s,omitempty"`
	// Reclaimed is the effective idle timeout per witness (see package reclaimed).
	Reclaimed []record.Reclaimed `json:"reclaimed,omitempty"`
	// PerIdleConn is the goroutines and FDs per idle connection, from steps.
	PerIdleConn *PerIdleConn `json:"per_idle_conn,omitempty"`
	// Events is what the kernel event witness recorded of the layer.
	Events *EventsSummary `json:"events,omitempty"`
}

// EventsSummary counts the kernel event witness's connections of a layer.
type EventsSummary struct {
	Conns    int            `json:"conns"`
	ClosedBy map[string]int `json:"closed_by"`
	// Short counts connections that lived less than one sample interval:
	// polling may never have seen them.
	Short int `json:"short"`
}

// LoadSummary holds the load figures over all phases.
type LoadSummary struct {
	Requests uint64 `json:"requests"`
	// Rate is requests per second over the phases that sent requests.
	Rate      float64 `json:"rate"`
	ErrorRate float64 `json:"error_rate"`
	// P50Ms is the request-weighted mean of the phases' medians; P99Ms the
	// largest phase p99 (phase results hold percentiles, not raw latencies).
	P50Ms  float64              `json:"p50_ms"`
	P99Ms  float64              `json:"p99_ms"`
	Phases []record.PhaseResult `json:"phases,omitempty"`
	Errors map[string]int       `json:"errors,omitempty"`
}

// VerdictSummary is the verdict's status and each check's status.
type VerdictSummary struct {
	Status string            `json:"status"`
	Checks map[string]string `json:"checks"`
}

// ReadSummary reads summary.json of a run built earlier.
func ReadSummary(dir string) (*Summary, error) {
	r := &record.Run{Dir: dir}
	defer r.Close()
	b, err := r.ReadFile(record.SummaryJSON)
	if err != nil {
		return nil, fmt.Errorf("read summary: %w", err)
	}
	var s Summary
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("read summary %s: %w", dir, err)
	}
	return &s, nil
}

// maxTheilSen is the most points a report fits a Theil-Sen slope to: the
// estimator is O(n^2), so longer inputs are thinned first.
const maxTheilSen = 300

// slopeOf is the Theil-Sen slope of (x, y), thinned to maxTheilSen points;
// 0 when there are fewer than two points with distinct x.
func slopeOf(x, y []float64) float64 {
	tx, ty := stats.Thin(x, y, maxTheilSen)
	if s := stats.TheilSen(tx, ty); !math.IsNaN(s) {
		return s
	}
	return 0
}

// summarize computes the summary from the folded run.
func summarize(r *record.Run, tl *timeline, cs *connStats, prs []record.PhaseResult, v *record.Verdict) *Summary {
	m := r.Meta
	s := &Summary{Format: SummaryFormat, Run: filepath.Base(r.Dir), Scenario: m.Scenario, Ended: m.Ended,
		Cause: m.Cause, Start: m.Start, End: m.End, Phases: m.Phases,
		Nodes: map[string]NodeSummary{}, Layers: map[string]LayerSummary{}, Figures: map[string]float64{}}
	if s.Scenario == "" {
		s.Scenario = m.Name
	}
	if !m.End.IsZero() && m.End.After(m.Start) {
		s.DurationS = m.End.Sub(m.Start).Seconds()
	}
	fig := s.Figures
	var perConnNode string
	var perConnSpread float64
	for _, name := range tl.nodeNames() {
		ns := tl.nodes[name]
		n := NodeSummary{Samples: ns.samples, GoroutineSource: ns.gorSource, SocketMethod: ns.sockMethod, Gone: ns.gone}
		if len(ns.errors) > 0 {
			n.ProbeErrors = ns.errors
		}
		if g := ns.get(keyGorTotal); g != nil {
			n.GoroutinesPeak, n.GoroutinesEnd = g.peak, g.last
			var x, y []float64
			for _, p := range tl.points(g) {
				x, y = append(x, p.X/3600), append(y, p.Mean)
			}
			n.GoroutinesSlope = slopeOf(x, y)
			if e := ns.get(keyEstAll); e != nil {
				x, y = x[:0], y[:0]
				var lo, hi float64 = math.Inf(1), math.Inf(-1)
				for i := range g.b {
					if g.b[i].n > 0 && e.b[i].n > 0 {
						ex := e.b[i].mean()
						x, y = append(x, ex), append(y, g.b[i].mean())
						lo, hi = math.Min(lo, ex), math.Max(hi, ex)
					}
				}
				if _, b, ok := stats.OLS(x, y); ok {
					n.GoroutinesPerConn = b
					if hi-lo > perConnSpread {
						perConnSpread, perConnNode = hi-lo, name
					}
				}
			}
		}
		if f := ns.get(keyFDTotal); f != nil {
			n.FDPeak, n.FDEnd = f.peak, f.last
		}
		if rs := ns.get(keyRSS); rs != nil {
			n.RSSPeak, n.RSSEnd = rs.peak, rs.last
		}
		s.Nodes[name] = n
		p := "nodes." + name + "."
		fig[p+"goroutines.peak"], fig[p+"goroutines.end"] = n.GoroutinesPeak, n.GoroutinesEnd
		fig[p+"goroutines.slope"], fig[p+"goroutines.per_conn"] = n.GoroutinesSlope, n.GoroutinesPerConn
		fig[p+"fd.peak"], fig[p+"rss.peak"] = n.FDPeak, n.RSSPeak
		// Whole-run figures add the nodes up: a leak on any node raises them.
		fig["goroutines.peak"] += n.GoroutinesPeak
		fig["goroutines.end"] += n.GoroutinesEnd
		fig["goroutines.slope"] += n.GoroutinesSlope
		fig["fd.peak"] += n.FDPeak
		fig["fd.end"] += n.FDEnd
		fig["rss.peak"] += n.RSSPeak
		fig["rss.end"] += n.RSSEnd
		// Series probe sources registered (series.Def): the same figures
		// under their series names, summed over the nodes that have them.
		for _, d := range tl.registered {
			if t := ns.get(d.Name); t != nil {
				fig[p+d.Name+".peak"], fig[p+d.Name+".end"] = t.peak, t.last
				fig[d.Name+".peak"] += t.peak
				fig[d.Name+".end"] += t.last
			}
		}
	}
	if perConnNode != "" {
		fig["goroutines.per_conn"] = s.Nodes[perConnNode].GoroutinesPerConn
	} else {
		s.Notes = append(s.Notes, "goroutines per connection: the number of connections never varied, no slope to fit")
	}
	layers := map[string]bool{}
	for l := range m.Layers {
		layers[l] = true
	}
	for _, ns := range tl.nodes {
		for l := range ns.layers {
			layers[l] = true
		}
	}
	for l := range cs.layers {
		layers[l] = true
	}
	for _, l := range slices.Sorted(maps.Keys(layers)) {
		ls := LayerSummary{Node: m.Layers[l].Node, IdleTimeoutS: float64(m.Layers[l].IdleTimeoutMs) / 1000}
		var seen bool
		for _, node := range ownerNodes(m, tl, l) {
			ns := tl.nodes[node]
			if e := ns.get(keyEst(l)); e != nil {
				ls.PeakEstablished += e.peak
				ls.EndEstablished += e.last
			}
			if t := ns.get(keyTimeWait(l)); t != nil {
				ls.PeakTimeWait += t.peak
			}
			if c := ns.get(keyCloseWait(l)); c != nil {
				ls.PeakCloseWait += c.peak
			}
			if i := ns.get(keyIdleMax(l)); i != nil {
				ls.MaxIdleS = math.Max(ls.MaxIdleS, i.peak)
			}
		}
		seen = ls.PeakEstablished > 0 || ls.PeakTimeWait > 0 || ls.PeakCloseWait > 0
		if c := cs.layers[l]; c != nil {
			ls.Conns, ls.ClosedBy, ls.MaxIdleByWitnessS = c.byWitness, c.closedBy, c.maxIdleByWitness
			ls.Events = c.events
			if c.events != nil && c.events.Short > 0 {
				s.Notes = append(s.Notes, fmt.Sprintf("layer %s: %d connections lived less than one tick (recorded by the kernel event witness)", l, c.events.Short))
			}
		}
		if !seen && l != record.LayerOther {
			s.Notes = append(s.Notes, fmt.Sprintf("layer %s: no socket of it was ever seen", l))
		}
		s.Layers[l] = ls
		fig[l+".peak"], fig[l+".end"], fig[l+".max_idle"] = ls.PeakEstablished, ls.EndEstablished, ls.MaxIdleS
		fig[l+".time_wait.peak"], fig[l+".close_wait.peak"] = ls.PeakTimeWait, ls.PeakCloseWait
	}
	s.Load = summarizeLoad(prs)
	fig["load.requests"], fig["load.rate"] = float64(s.Load.Requests), s.Load.Rate
	fig["load.error_rate"], fig["load.p50"], fig["load.p99"] = s.Load.ErrorRate, s.Load.P50Ms, s.Load.P99Ms
	if v != nil {
		vs := &VerdictSummary{Status: v.Status, Checks: map[string]string{}}
		for _, c := range v.Checks {
			vs.Checks[c.Name] = c.Status
		}
		s.Verdict = vs
	}
	s.Cycles, s.Spread = cycleSpread(m, tl)
	addReclaimed(s, cs.reclaim, s.Cycles)
	addPerIdleConn(s, tl)
	// JSON has no NaN or Inf: a figure that could not be computed is 0 and a note says so.
	for k, v := range fig {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			fig[k] = 0
			s.Notes = append(s.Notes, fmt.Sprintf("figure %s could not be computed", k))
		}
	}
	return s
}

func summarizeLoad(prs []record.PhaseResult) LoadSummary {
	ls := LoadSummary{Phases: prs}
	var secs, ok, p50w, timed float64
	for _, p := range prs {
		if p.Requests == 0 {
			continue
		}
		ls.Requests += p.Requests
		if d := p.End.Sub(p.Start).Seconds(); d > 0 {
			secs += d
		}
		ok += phaseSuccess(p) * float64(p.Requests)
		if p.LatencyP50 > 0 {
			// Phases that do not time requests (idle holds) do not pull the median down.
			p50w += p.LatencyP50 * float64(p.Requests)
			timed += float64(p.Requests)
		}
		ls.P99Ms = math.Max(ls.P99Ms, p.LatencyP99)
		for k, n := range p.Errors {
			if ls.Errors == nil {
				ls.Errors = map[string]int{}
			}
			ls.Errors[k] += n
		}
	}
	if ls.Requests > 0 {
		n := float64(ls.Requests)
		ls.ErrorRate = 1 - ok/n
		if timed > 0 {
			ls.P50Ms = p50w / timed
		}
		if secs > 0 {
			ls.Rate = n / secs
		}
	}
	return ls
}

// phaseSuccess returns the phase's success ratio. Phases that leave Success
// at 0 but count status codes (idle holds) get it from the codes: 2xx and
// 3xx are successes.
func phaseSuccess(p record.PhaseResult) float64 {
	if p.Success > 0 || len(p.StatusCodes) == 0 || p.Requests == 0 {
		return p.Success
	}
	var good int
	for code, n := range p.StatusCodes {
		if strings.HasPrefix(code, "2") || strings.HasPrefix(code, "3") {
			good += n
		}
	}
	return math.Min(1, float64(good)/float64(p.Requests))
}
