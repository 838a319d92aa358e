package merge

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/soak-dev/soak/record"
)

// mergePhases writes load/<phase>.json for every phase any shard ran:
// counts summed, the phase-wide and per-target rate and latencies
// recomputed from the shards' vegeta results (load/<phase>.results.gob,
// re-encoded into one file; reencode says when the shards' worst
// latencies stay instead).
func mergePhases(shards []*shard, w *record.Writer) error {
	byPhase := map[string][]shardResult{}
	var order []string
	for _, s := range shards {
		prs, err := s.run.PhaseResults()
		if err != nil {
			return fmt.Errorf("merge: %s: %w", s.run.Dir, err)
		}
		for _, pr := range prs {
			if byPhase[pr.Phase] == nil {
				order = append(order, pr.Phase)
			}
			byPhase[pr.Phase] = append(byPhase[pr.Phase], shardResult{s, pr})
		}
	}
	for _, phase := range order {
		res, err := mergePhase(byPhase[phase], w)
		if err != nil {
			return fmt.Errorf("merge: phase %s: %w", phase, err)
		}
		if err := record.WritePhaseResult(w.Dir(), res); err != nil {
			return fmt.Errorf("merge: %w", err)
		}
	}
	return nil
}

type shardResult struct {
	shard *shard
	res   record.PhaseResult
}

func mergePhase(parts []shardResult, w *record.Writer) (record.PhaseResult, error) {
	out := record.PhaseResult{Phase: parts[0].res.Phase, Kind: parts[0].res.Kind}
	var ok float64 // responses with an expected status
	for _, p := range parts {
		r := p.res
		if out.Kind == "quiet" {
			out.Kind = r.Kind // a shard that sat the phase out ran it as quiet
		}
		if out.Start.IsZero() || !r.Start.IsZero() && r.Start.Before(out.Start) {
			out.Start = r.Start
		}
		if r.End.After(out.End) {
			out.End = r.End
		}
		out.Requests += r.Requests
		ok += math.Round(r.Success * float64(r.Requests))
		out.Rate += r.Rate
		out.Throughput += r.Throughput
		out.LatencyP50 = max(out.LatencyP50, r.LatencyP50)
		out.LatencyP90 = max(out.LatencyP90, r.LatencyP90)
		out.LatencyP99 = max(out.LatencyP99, r.LatencyP99)
		out.LatencyMax = max(out.LatencyMax, r.LatencyMax)
		out.StatusCodes = addCounts(out.StatusCodes, r.StatusCodes)
		out.Errors = addCounts(out.Errors, r.Errors)
		out.Examples = addExamples(out.Examples, r.Examples)
		if out.ExpectStatus == nil {
			out.ExpectStatus = r.ExpectStatus
		}
		out.PlannedRequests += r.PlannedRequests
		out.ConnsOpened += r.ConnsOpened
		out.ConnsClosedBy = addCounts(out.ConnsClosedBy, r.ConnsClosedBy)
		for k, v := range r.Extra {
			if out.Extra == nil {
				out.Extra = map[string]float64{}
			}
			if k == "interrupted" {
				out.Extra[k] = max(out.Extra[k], v)
			} else {
				out.Extra[k] += v
			}
		}
		out.Targets = addTargets(out.Targets, r.Targets)
	}
	if out.Requests > 0 {
		out.Success = ok / float64(out.Requests)
	}
	if err := reencode(parts, w, &out); err != nil {
		return out, err
	}
	return out, nil
}

// reencode joins the shards' vegeta results into one file of the merged
// run and recomputes the phase's rate and latencies from them: exact
// percentiles of the whole load. Each target's latencies are recomputed
// too, from the results the load placed under it (TargetIndexes). Without
// every shard's results file, or with one cut short (a shard killed before
// writing it all), the sums and worst-shard latencies (an upper bound)
// stay; without every shard's target indexes (a run of an older soak, or
// cut short), the targets' worst-shard latencies stay. The merged run gets
// target indexes of its own when the targets' latencies are exact, like
// any run's.
func reencode(parts []shardResult, w *record.Writer, out *record.PhaseResult) error {
	for _, p := range parts {
		if p.res.Requests > 0 && p.res.VegetaResults == "" {
			return nil
		}
	}
	name := record.PhaseFile(out.Phase, ".results.gob")
	f, err := os.OpenFile(filepath.Join(w.Dir(), name), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	bw := bufio.NewWriterSize(f, 64<<10)
	enc := vegeta.NewEncoder(bw)
	var m vegeta.Metrics
	idxName := record.PhaseFile(out.Phase, record.TargetIndexesSuffix)
	tf, err := os.OpenFile(filepath.Join(w.Dir(), idxName), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		f.Close()
		os.Remove(f.Name())
		return err
	}
	split := targetSplit{metrics: map[string]*vegeta.Metrics{}, index: map[string]uint64{}, w: bufio.NewWriterSize(tf, 4<<10)}
	for i, t := range out.Targets {
		split.index[t.Target] = uint64(i + 1)
	}
	exact := true // every result of every shard placed by its target index
	for _, p := range parts {
		if p.res.VegetaResults == "" {
			continue
		}
		placed, err := decodeInto(p, enc, &m, &split)
		if err != nil {
			f.Close()
			tf.Close()
			os.Remove(f.Name())
			os.Remove(tf.Name())
			return fmt.Errorf("%s: %w", filepath.Join(p.shard.run.Dir, p.res.VegetaResults), err)
		}
		exact = exact && placed
	}
	m.Close()
	if err := errors.Join(bw.Flush(), f.Close(), split.w.Flush(), tf.Close()); err != nil {
		return err
	}
	if m.Requests != out.Requests {
		// A results file cut short (a killed shard): keep the sums.
		os.Remove(f.Name())
		os.Remove(tf.Name())
		return nil
	}
	out.VegetaResults = name
	out.Rate, out.Throughput = m.Rate, m.Throughput
	if len(out.ExpectStatus) == 0 {
		out.Success = m.Success
	}
	out.LatencyP50, out.LatencyP90 = ms(m.Latencies.P50), ms(m.Latencies.P90)
	out.LatencyP99, out.LatencyMax = ms(m.Latencies.P99), ms(m.Latencies.Max)
	if !exact {
		os.Remove(tf.Name())
		return nil
	}
	out.TargetIndexes = idxName
	for i := range out.Targets {
		t := &out.Targets[i]
		tm := split.metrics[t.Target]
		if tm == nil {
			continue // no result of this target in any shard
		}
		tm.Close()
		t.LatencyP50, t.LatencyP90 = ms(tm.Latencies.P50), ms(tm.Latencies.P90)
		t.LatencyP99, t.LatencyMax = ms(tm.Latencies.P99), ms(tm.Latencies.Max)
	}
	return nil
}

// targetSplit gathers the merged phase's results by target.
type targetSplit struct {
	metrics map[string]*vegeta.Metrics // by target name
	index   map[string]uint64          // 1 + the target's index in the merged Targets
	w       *bufio.Writer              // the merged run's target indexes
}

// decodeInto adds the shard's results to m and enc, and each to the
// metrics of its target in split (by name) as the shard's target indexes
// say, noting its merged index. A result under no target (index 0, as the load counts it: in the
// phase's figures only) goes to none. placed is false when the shard has
// no target indexes or fewer than results: its targets are not all known.
func decodeInto(p shardResult, enc vegeta.Encoder, m *vegeta.Metrics, split *targetSplit) (placed bool, err error) {
	f, err := p.shard.run.OpenFile(p.res.VegetaResults)
	if err != nil {
		return false, err
	}
	defer f.Close()
	var idx *bufio.Reader
	if p.res.TargetIndexes != "" {
		tf, err := p.shard.run.OpenFile(p.res.TargetIndexes)
		if err == nil {
			defer tf.Close()
			idx = bufio.NewReader(tf)
		}
	}
	placed = idx != nil
	dec := vegeta.NewDecoder(bufio.NewReader(f))
	for n := uint64(0); ; n++ {
		if n > p.res.Requests {
			return false, fmt.Errorf("more results than the %d requests its phase result counts", p.res.Requests)
		}
		var r vegeta.Result
		if err := dec.Decode(&r); err != nil {
			if errors.Is(err, io.EOF) {
				return placed, nil
			}
			if errors.Is(err, io.ErrUnexpectedEOF) {
				return placed, nil // a torn last result, as a killed shard leaves it
			}
			return false, err
		}
		m.Add(&r)
		if err := enc.Encode(&r); err != nil {
			return false, err
		}
		if !placed {
			continue
		}
		ti, err := binary.ReadUvarint(idx)
		if err != nil {
			placed = false // cut short or unreadable: the targets' latencies stay the shards'
			continue
		}
		var merged uint64 // 0: under no target, as the load counted it
		if ti > 0 && ti <= uint64(len(p.res.Targets)) {
			name := p.res.Targets[ti-1].Target
			if split.metrics[name] == nil {
				split.metrics[name] = &vegeta.Metrics{}
			}
			split.metrics[name].Add(&r)
			merged = split.index[name]
		}
		var b [binary.MaxVarintLen64]byte
		if _, err := split.w.Write(b[:binary.PutUvarint(b[:], merged)]); err != nil {
			return false, err
		}
	}
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func addCounts(into, from map[string]int) map[string]int {
	if len(from) == 0 {
		return into
	}
	if into == nil {
		into = map[string]int{}
	}
	for k, v := range from {
		into[k] += v
	}
	return into
}

func addExamples(into, from map[string]string) map[string]string {
	for k, v := range from {
		if _, ok := into[k]; !ok {
			if into == nil {
				into = map[string]string{}
			}
			into[k] = v
		}
	}
	return into
}

// addTargets sums the targets' counts by name; latencies are the worst
// shard's, since a percentile of the whole cannot be made from parts
// (reencode replaces them with exact ones when it has every result).
func addTargets(into, from []record.TargetResult) []record.TargetResult {
	for _, t := range from {
		i := slices.IndexFunc(into, func(u record.TargetResult) bool { return u.Target == t.Target })
		if i < 0 {
			t.StatusCodes, t.Errors, t.Examples = maps.Clone(t.StatusCodes), maps.Clone(t.Errors), maps.Clone(t.Examples)
			into = append(into, t)
			continue
		}
		u := &into[i]
		u.Requests += t.Requests
		u.OK += t.OK
		u.LatencyP50, u.LatencyP90 = max(u.LatencyP50, t.LatencyP50), max(u.LatencyP90, t.LatencyP90)
		u.LatencyP99, u.LatencyMax = max(u.LatencyP99, t.LatencyP99), max(u.LatencyMax, t.LatencyMax)
		u.StatusCodes = addCounts(u.StatusCodes, t.StatusCodes)
		u.Errors = addCounts(u.Errors, t.Errors)
		u.Examples = addExamples(u.Examples, t.Examples)
	}
	return into
}

// copyLogs copies each node's log from the shard that owns the node to
// logs/<node>.log. A node name from an untrusted meta.json that is not a
// plain file name gets no log.
func copyLogs(shards []*shard, w *record.Writer, owner map[string]int, meta *record.Meta) error {
	for name, i := range owner {
		n := meta.Nodes[name]
		log := n.Log
		n.Log = ""
		meta.Nodes[name] = n
		if log == "" || !plainName.MatchString(name) {
			continue
		}
		src, err := shards[i].run.OpenFile(log)
		if err != nil {
			continue // a node without a log (attached): nothing to copy
		}
		dst, err := os.OpenFile(filepath.Join(w.Dir(), record.LogsDir, name+".log"), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if err == nil {
			_, err = io.Copy(dst, src)
			err = errors.Join(err, dst.Close())
		}
		src.Close()
		if err != nil {
			return fmt.Errorf("merge: log of node %s: %w", name, err)
		}
		n.Log = filepath.Join(record.LogsDir, name+".log")
		meta.Nodes[name] = n
	}
	return nil
}

// plainName is a node name safe as a file name (scenarios allow less).
var plainName = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$`)
