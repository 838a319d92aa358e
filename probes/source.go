package probes

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"strconv"
	"time"

	"github.com/soak-dev/soak/record"
	"github.com/soak-dev/soak/series"
)

// DefaultProcRoot is where the probes read the proc file system.
const DefaultProcRoot = "/proc"

// procRoot is the proc file system the probes read (node_exporter's
// --path.procfs): DefaultProcRoot, or a fixture tree under testdata in
// tests. Paths are joined here, never built as "/proc/"+pid.
type procRoot string

// pid is the path of elem under the process's directory: root/PID/elem...
func (r procRoot) pid(pid int, elem ...string) string {
	return filepath.Join(append([]string{string(r), strconv.Itoa(pid)}, elem...)...)
}

// self is the path of elem under the prober's own directory: root/self/elem...
func (r procRoot) self(elem ...string) string {
	return filepath.Join(append([]string{string(r), "self"}, elem...)...)
}

// tick is one sample in the making, handed to every source in stage order.
type tick struct {
	now time.Time
	out *record.Sample
	// inodes maps the process's socket inodes to their fd numbers: filled
	// by the fds source, joined with the socket dump by the sockets source.
	// Not kept across ticks: a SUT leaking fds must not grow the prober's heap.
	inodes map[uint32]int32
	// listen are the ports the process listens on, from this tick's
	// socket dump (nil when there was none): the kernel event witness
	// follows the connections accepted on them.
	listen []uint16
	ended  []record.Conn // connections seen to end, for the sink
	gone   bool          // the process has exited: the sample is marked gone
}

// put records the value of a series the source registered
// (series.Register) in the sample. A value samples.jsonl cannot carry
// (NaN, an infinity) is an error of the source instead.
func (t *tick) put(source string, d series.Def, v float64) {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		t.out.Errors = append(t.out.Errors, fmt.Sprintf("%s: %s is %v", source, d.Name, v))
		return
	}
	if t.out.Values == nil {
		t.out.Values = map[string]float64{}
	}
	t.out.Values[d.Name] = v
}

// source is one probe source: the part of a record.Sample it reads
// (process facts, fds, sockets, goroutines, kernel events). Each source's
// file registers it in init (node_exporter's registerCollector); a Sampler
// opens every registered source and calls them in stage order each tick.
// A source is used by one goroutine, the sampler's.
type source interface {
	// start reads the source's part into t, using what earlier stages put
	// there. Setting t.gone ends the tick: later sources do not start.
	start(ctx context.Context, t *tick)
	// finish completes its part once every source has started (joins a
	// fetch, classifies a dump), in stage order; t.gone may be set.
	finish(ctx context.Context, t *tick)
	// close releases the source and returns the connections still open.
	close() []record.Conn
}

// Stages order the sources of a tick: the process first (has it exited?),
// fds before sockets (the dump is joined with the fds' socket inodes).
const (
	stageGoroutines = 10 // starts the HTTP fetch, which runs while the others read
	stageProcess    = 20
	stageFDs        = 30
	stageSockets    = 40
	stageEvents     = 50
)

// sourceKind is a registered source.
type sourceKind struct {
	stage int
	name  string
	// open makes the source for s, or returns nil (and no error) when the
	// target does not need it. An error fails NewSampler.
	open func(s *Sampler) (source, error)
}

// sourceKinds are the registered sources, in stage order.
var sourceKinds []sourceKind

// registerSource registers a probe source; called from its file's init.
// Two sources with one name or one stage are a programming error.
func registerSource(stage int, name string, open func(s *Sampler) (source, error)) {
	for _, k := range sourceKinds {
		if k.name == name || k.stage == stage {
			panic("probes: source " + name + " registered twice, or at the stage of " + k.name)
		}
	}
	sourceKinds = append(sourceKinds, sourceKind{stage: stage, name: name, open: open})
	slices.SortFunc(sourceKinds, func(a, b sourceKind) int { return cmp.Compare(a.stage, b.stage) })
}

// Sources names the registered probe sources, in the order they run.
func Sources() []string {
	out := make([]string, len(sourceKinds))
	for i, k := range sourceKinds {
		out[i] = k.name
	}
	return out
}

// sourceOf returns the sampler's source of type T, or the zero T.
func sourceOf[T source](s *Sampler) T {
	for _, src := range s.sources {
		if t, ok := src.(T); ok {
			return t
		}
	}
	var zero T
	return zero
}
