package runner

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/soak-dev/soak/load"
	"github.com/soak-dev/soak/record"
	"github.com/soak-dev/soak/scenarios"
)

// phaseStatus is what the progress display shows of the current phase.
type phaseStatus struct {
	mu      sync.Mutex
	name    string
	kind    string
	start   time.Time
	planned time.Duration
	index   int // 1-based among all phase runs
	total   int
	// requests counts the run's requests when the phase started, so the
	// live rate is per phase.
	requests int64
}

func (ps *phaseStatus) startRequests() int64 {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	return ps.requests
}

func (ps *phaseStatus) startTime() time.Time {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	return ps.start
}

func (ps *phaseStatus) set(name, kind string, planned time.Duration, index, total int) {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	ps.name, ps.kind, ps.start, ps.planned, ps.index, ps.total = name, kind, time.Now(), planned, index, total
}

func (ps *phaseStatus) get() (name, kind string, start time.Time, planned time.Duration, index, total int) {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	return ps.name, ps.kind, ps.start, ps.planned, ps.index, ps.total
}

// runPhases runs every phase (with its repeats) in order. A node dying or
// ctx ending stops the current phase at once.
func (r *run) runPhases(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-r.died:
			cancel()
		case <-r.abort.done:
			cancel()
		case <-ctx.Done():
		}
	}()
	var watching sync.WaitGroup
	watching.Add(1)
	go func() { defer watching.Done(); r.watchLoad(ctx) }()
	defer func() { cancel(); watching.Wait() }()
	prog := r.startProgress(ctx)
	defer prog.stop()

	total := 0
	for _, p := range r.sc.Phases {
		total += p.Repeat
	}
	total *= r.sc.Cycles
	index := 0
	runs := map[string]int{} // runs so far of each phase, for its "#n" name
	for cycle := 0; cycle < r.sc.Cycles; cycle++ {
		for _, p := range r.sc.Phases {
			for rep := 1; rep <= p.Repeat; rep++ {
				index++
				runs[p.Name]++
				name := p.Name
				if n := runs[p.Name]; n > 1 {
					name = p.Name + "#" + strconv.Itoa(n)
				}
				if err := r.runPhase(ctx, p, name, cycle+1, rep, index, total); err != nil {
					return err
				}
				if err := r.stopped(ctx); err != nil {
					return err
				}
			}
		}
	}
	return r.stopped(ctx)
}

// stopped says why the run must stop, if it must.
func (r *run) stopped(ctx context.Context) error {
	select {
	case <-r.died:
		return fmt.Errorf("%w: %s", ErrNodeDied, r.deathCause)
	case <-r.abort.done:
		return errAborted
	default:
	}
	return ctx.Err()
}

func (r *run) runPhase(ctx context.Context, p *scenarios.Phase, name string, cycle, rep, index, total int) error {
	for _, b := range slices.Sorted(maps.Keys(p.Faults)) {
		r.backends[b].SetFaults(p.Faults[b])
		r.event(record.EventFaults, b, "faults changed by phase "+name, nil)
	}
	ph, err := r.opts.newPhase(p)
	if err != nil {
		return fmt.Errorf("phase %s: %w", name, err)
	}
	pm := record.PhaseMeta{Name: name, Base: p.Name, Kind: p.Kind(), Start: time.Now(), PlannedMs: p.Planned().Milliseconds(),
		Cycle: cycle, Rep: rep}
	r.metaM.Lock()
	r.meta.Phases = append(r.meta.Phases, pm)
	i := len(r.meta.Phases) - 1
	r.metaM.Unlock()
	r.keepMeta()
	r.event(record.EventPhaseStart, name, p.Kind(), nil)
	r.phase.set(name, p.Kind(), p.Planned(), index, total)
	r.phase.mu.Lock()
	r.phase.requests = r.stats.Requests.Load()
	r.phase.mu.Unlock()

	td := r.data // a copy per phase run: its cycle, repeat and seed
	td.Cycle, td.Repeat = cycle, rep
	env := load.Env{Phase: name, BaseURL: r.baseURL(), Data: td, Sink: r.w, RunDir: r.w.Dir(), Stats: &r.stats,
		OwnConns: r.own, Seed: uint64(index)}
	res, err := ph.Run(ctx, env)

	r.metaM.Lock()
	r.meta.Phases[i].End = time.Now()
	r.metaM.Unlock()
	r.keepMeta()
	data := map[string]string{"requests": strconv.FormatUint(res.Requests, 10)}
	if err != nil {
		data["error"] = err.Error()
	}
	r.event(record.EventPhaseEnd, name, p.Kind(), data)
	if errors.Is(err, load.ErrStepFailed) && ctx.Err() == nil {
		// A setup step that failed: the rest would not test what the
		// scenario means to, so the run ends (exit 3) with its cause.
		return fmt.Errorf("phase %s: %w", name, err)
	}
	if err != nil && ctx.Err() == nil {
		r.warn(fmt.Sprintf("phase %s: %v", name, err))
		// A phase's error is setup or I/O: its results are not all on disk.
		r.lose("phase "+name, err)
	}
	return nil
}

// baseURL is the scenario's target, or the first node's URL.
func (r *run) baseURL() string {
	if r.sc.Target != "" {
		if u, err := scenarios.Render("target", r.sc.Target, r.data, nil); err == nil {
			return u
		}
	}
	return r.data.Nodes[r.sc.NodeNames()[0]].URL
}
