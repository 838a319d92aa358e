// Package merge joins the run directories of the shards of one sharded
// run (soak run --shard I/N) into one run directory that soak report and
// soak compare read like any other: the load of every phase summed, the
// client ledgers joined, the nodes' samples and kernel ledgers taken once.
// Shard directories are untrusted input: they are read through package
// record (an os.Root each) and checked to be the shards of one scenario.
package merge

import (
	"bytes"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	"github.com/soak-dev/soak/record"
)

// ErrMismatch is wrapped by every error that refuses a set of directories
// that are not the shards of one run.
var ErrMismatch = errors.New("not the shards of one run")

// shard is one opened shard run directory.
type shard struct {
	run      *record.Run
	index    int
	scenario []byte
}

// Runs joins the shard run directories dirs into the new run directory
// out (which must not exist, or be empty) and returns its meta.json.
//
// Every node's samples, its kernel and kernel-events ledger lines and its
// log come from one shard: the lowest-numbered one that probed it (every
// shard probes the same SUT; taking each once keeps one sample series and
// one line per connection). The client ledgers of all shards are joined,
// as are the backend ledgers (each shard ran its own fake backends) and
// the events. Phase results are summed (results.go).
func Runs(dirs []string, out string) (record.Meta, error) {
	shards, err := open(dirs)
	defer func() {
		for _, s := range shards {
			s.run.Close()
		}
	}()
	if err != nil {
		return record.Meta{}, err
	}
	owner, err := owners(shards)
	if err != nil {
		return record.Meta{}, err
	}
	w, err := record.Create(out)
	if err != nil {
		return record.Meta{}, fmt.Errorf("merge: %w", err)
	}
	meta, err := write(w, shards, owner)
	if cerr := w.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("merge: %w", cerr)
	}
	return meta, err
}

// open reads every shard's meta.json and scenario.yaml and checks they are
// the N shards of one scenario, each once; it returns them by index.
func open(dirs []string) ([]*shard, error) {
	if len(dirs) < 1 {
		return nil, errors.New("merge: no run directory given")
	}
	var shards []*shard
	for _, d := range dirs {
		r, err := record.Open(d)
		if err != nil {
			return shards, fmt.Errorf("merge: %w", err)
		}
		s := &shard{run: r}
		shards = append(shards, s)
		g := r.Meta.Shard
		if g == nil {
			return shards, fmt.Errorf("merge: %s: %w: meta.json has no shard (run each shard with soak run --shard I/N)", d, ErrMismatch)
		}
		if g.Count < 1 || g.Index < 1 || g.Index > g.Count {
			return shards, fmt.Errorf("merge: %s: meta.json: shard %d/%d is not a shard", d, g.Index, g.Count)
		}
		s.index = g.Index
		if s.scenario, err = r.Scenario(); err != nil {
			return shards, fmt.Errorf("merge: %s: %w", d, err)
		}
	}
	slices.SortStableFunc(shards, func(a, b *shard) int { return a.index - b.index })
	first := shards[0]
	n := first.run.Meta.Shard.Count
	for i, s := range shards {
		m, fm := s.run.Meta, first.run.Meta
		switch {
		case m.Shard.Count != n:
			return shards, fmt.Errorf("merge: %s is shard %d/%d, %s is shard %d/%d: %w", first.run.Dir, first.index, n, s.run.Dir, s.index, m.Shard.Count, ErrMismatch)
		case i > 0 && s.index == shards[i-1].index:
			return shards, fmt.Errorf("merge: shard %d/%d given twice: %s and %s: %w", s.index, n, shards[i-1].run.Dir, s.run.Dir, ErrMismatch)
		case !bytes.Equal(s.scenario, first.scenario):
			return shards, fmt.Errorf("merge: %s ran a different scenario than %s (scenario.yaml differs at line %d): %w",
				s.run.Dir, first.run.Dir, firstDiffLine(first.scenario, s.scenario), ErrMismatch)
		case m.IntervalMs != fm.IntervalMs || m.DurationScale != fm.DurationScale:
			return shards, fmt.Errorf("merge: %s ran with interval %d ms and duration scale %g, %s with %d ms and %g: %w",
				first.run.Dir, fm.IntervalMs, fm.DurationScale, s.run.Dir, m.IntervalMs, m.DurationScale, ErrMismatch)
		}
	}
	if len(shards) != n {
		var missing []string
		for i := 1; i <= n; i++ {
			if !slices.ContainsFunc(shards, func(s *shard) bool { return s.index == i }) {
				missing = append(missing, fmt.Sprintf("%d/%d", i, n))
			}
		}
		return shards, fmt.Errorf("merge: shard %s missing (%d of %d given): %w", strings.Join(missing, ", "), len(shards), n, ErrMismatch)
	}
	return shards, nil
}

// owners picks, for every node, the shard whose samples and kernel
// ledgers stand for it, and refuses shards that probed different
// processes under one node name (each started its own SUT).
func owners(shards []*shard) (map[string]int, error) {
	owner := map[string]int{}
	for i, s := range shards {
		for _, name := range s.run.Nodes() {
			o, ok := owner[name]
			if !ok {
				owner[name] = i
				continue
			}
			a, b := shards[o].run.Meta, s.run.Meta
			na, nb := a.Nodes[name], b.Nodes[name]
			if na.PID > 0 && nb.PID > 0 && (na.PID != nb.PID || a.Host != b.Host) {
				return nil, fmt.Errorf("merge: node %s is process %d on %s in %s but %d on %s in %s: the shards ran separate SUTs, not one (attach the shards to one SUT, or make its nodes remote): %w",
					name, na.PID, a.Host, shards[o].run.Dir, nb.PID, b.Host, s.run.Dir, ErrMismatch)
			}
		}
	}
	return owner, nil
}

// firstDiffLine is the 1-based line where a and b first differ.
func firstDiffLine(a, b []byte) int {
	n := min(len(a), len(b))
	i := 0
	for i < n && a[i] == b[i] {
		i++
	}
	return bytes.Count(a[:i], []byte("\n")) + 1
}

// write fills the new run directory.
func write(w *record.Writer, shards []*shard, owner map[string]int) (record.Meta, error) {
	if err := w.WriteFile(shards[0].scenario, record.ScenarioFile); err != nil {
		return record.Meta{}, fmt.Errorf("merge: %w", err)
	}
	if err := joinLines(shards, w, owner); err != nil {
		return record.Meta{}, err
	}
	if err := mergePhases(shards, w); err != nil {
		return record.Meta{}, err
	}
	meta := mergeMeta(shards, owner)
	if err := copyLogs(shards, w, owner, &meta); err != nil {
		return record.Meta{}, err
	}
	if err := w.WriteMeta(meta); err != nil {
		return record.Meta{}, fmt.Errorf("merge: %w", err)
	}
	return meta, nil
}

// mergeMeta: the first shard's meta, spanning every shard's time, with
// each node as its owner saw it and the shards listed.
func mergeMeta(shards []*shard, owner map[string]int) record.Meta {
	m := shards[0].run.Meta
	m.Format = record.FormatVersion
	m.Shard = nil
	m.Args = nil
	m.Nodes = map[string]record.NodeMeta{}
	m.ProbeMethods = map[string]string{}
	m.Lost = nil
	var hosts []string
	for i, s := range shards {
		sm := s.run.Meta
		m.Shards = append(m.Shards, record.ShardMeta{Index: s.index, Count: len(shards),
			Dir: filepath.Base(s.run.Dir), Host: sm.Host, Start: sm.Start, End: sm.End})
		if !slices.Contains(hosts, sm.Host) {
			hosts = append(hosts, sm.Host)
		}
		if sm.Start.Before(m.Start) {
			m.Start = sm.Start
		}
		if sm.End.After(m.End) {
			m.End = sm.End
		}
		// The worst shard's timer lateness: reclaim's default tolerance
		// adds it, and a node's SUT may have run beside any shard.
		if sm.TimerLateness != nil && (m.TimerLateness == nil || sm.TimerLateness.MaxMs > m.TimerLateness.MaxMs) {
			m.TimerLateness = sm.TimerLateness
		}
		if sm.ExitCode > m.ExitCode {
			m.ExitCode = sm.ExitCode
		}
		if sm.Ended != record.EndedCompleted && m.Ended == record.EndedCompleted {
			m.Ended, m.Cause = sm.Ended, fmt.Sprintf("shard %d/%d %s: %s", s.index, len(shards), sm.Ended, sm.Cause)
		}
		for _, l := range sm.Lost {
			m.Lost = append(m.Lost, fmt.Sprintf("shard %d/%d: %s", s.index, len(shards), l))
		}
		for name, n := range sm.Nodes {
			if owner[name] == i {
				m.Nodes[name] = n
			}
		}
		for k, v := range sm.ProbeMethods {
			if _, node, _ := strings.Cut(k, "/"); owner[node] == i {
				m.ProbeMethods[k] = v
			}
		}
		if i > 0 {
			m.Phases = mergePhaseMeta(m.Phases, sm.Phases)
		}
		for name, b := range sm.Backends {
			if _, ok := m.Backends[name]; !ok {
				if m.Backends == nil {
					m.Backends = map[string]record.BackendMeta{}
				}
				m.Backends[name] = b
			}
		}
	}
	m.Host = strings.Join(hosts, ",")
	return m
}

// mergePhaseMeta spans each phase over every shard's run of it (by name:
// the shards ran the same list, though one may have stopped early).
func mergePhaseMeta(into, from []record.PhaseMeta) []record.PhaseMeta {
	for _, p := range from {
		i := slices.IndexFunc(into, func(q record.PhaseMeta) bool { return q.Name == p.Name })
		if i < 0 {
			into = append(into, p)
			continue
		}
		q := &into[i]
		if !p.Start.IsZero() && (q.Start.IsZero() || p.Start.Before(q.Start)) {
			q.Start = p.Start
		}
		if p.End.After(q.End) {
			q.End = p.End
		}
	}
	slices.SortStableFunc(into, func(a, b record.PhaseMeta) int { return a.Start.Compare(b.Start) })
	return into
}
