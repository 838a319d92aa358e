package runner

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/soak-dev/soak/checks"
	"github.com/soak-dev/soak/load"
	"github.com/soak-dev/soak/record"
)

// errAborted ends a run stopped early by a check that certainly failed
// (abort_on_fail, --fail-fast): exit 1, with all data and the report.
var errAborted = errors.New("a check failed with abort_on_fail")

// aborter judges the abort_on_fail checks while the run goes on (k6's
// abortOnFail): each sample as it is taken, and the load's error rate over
// a sliding window. The first certain failure closes done.
type aborter struct {
	mu     sync.Mutex
	watch  *checks.Watch
	done   chan struct{}
	failed *record.CheckResult
}

func newAborter(r *run) *aborter {
	w := checks.NewWatch(r.sc, r.opts.FailFast)
	if w != nil {
		w.Lateness = r.lateSoFar
	}
	return &aborter{watch: w, done: make(chan struct{})}
}

// observe judges one sample of node (called by each node's sampler).
func (r *run) observe(node string, s record.Sample) {
	a := r.abort
	if a == nil || a.watch == nil || s.Gone {
		return
	}
	a.mu.Lock()
	res := a.watch.Sample(node, s)
	a.mu.Unlock()
	r.abortOn(res, s.Time)
}

// abortOn stops the run for res (once).
func (r *run) abortOn(res *record.CheckResult, seen time.Time) {
	if res == nil {
		return
	}
	a := r.abort
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.failed != nil {
		return
	}
	a.failed = res
	r.event(record.EventAbort, res.Name, res.Message, map[string]string{"seen": seen.UTC().Format(time.RFC3339Nano)})
	fmt.Fprintf(r.log, "soak: %s failed (abort_on_fail): %s; stopping the load, keeping the data\n", res.Name, res.Message)
	close(a.done)
}

// abortCause is the cause of an aborted run.
func (r *run) abortCause() string {
	a := r.abort
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.failed == nil {
		return "aborted"
	}
	return fmt.Sprintf("%s failed (abort_on_fail): %s", a.failed.Name, a.failed.Message)
}

// watchLoad judges the watched load checks every interval (at most 1 s)
// until ctx ends: on the running rate-driven phase's live totals per
// target (load.Live) over the last checks.LoadWindow. Failed requests
// honour the phase's expect_status.
func (r *run) watchLoad(ctx context.Context) {
	if r.abort == nil || r.abort.watch == nil {
		return
	}
	every := r.sc.Interval.D()
	if every <= 0 || every > time.Second {
		every = time.Second
	}
	t := time.NewTicker(every)
	defer t.Stop()
	var (
		live   *load.Live
		window []load.LiveSnapshot // of live, oldest first
	)
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			if l := r.stats.Live(); l != live {
				live, window = l, nil
			}
			if live == nil {
				continue
			}
			snap := live.Snapshot(now)
			window = append(window, snap)
			for len(window) > 1 && now.Sub(window[1].At) >= checks.LoadWindow-every/2 {
				window = window[1:]
			}
			first := window[0]
			if now.Sub(first.At) < checks.LoadWindow-every/2 {
				continue
			}
			base, _, _ := strings.Cut(snap.Phase, "#")
			r.abort.mu.Lock()
			res := r.abort.watch.Load(spanOf(first, snap, base))
			r.abort.mu.Unlock()
			r.abortOn(res, now)
		}
	}
}

// spanOf is the load between two snapshots of one phase run; each
// target's longest request is the longest since the run began.
func spanOf(from, to load.LiveSnapshot, base string) checks.LoadSpan {
	s := checks.LoadSpan{Phase: to.Phase, Base: base, Kind: to.Kind, Span: to.At.Sub(from.At), Planned: to.Planned - from.Planned}
	if from.Planned <= 0 || to.Planned <= 0 {
		s.Planned = 0
	}
	for i, t := range to.Targets {
		f := from.Targets[i]
		s.Targets = append(s.Targets, checks.TargetSpan{Target: t.Target, Sent: t.Sent - f.Sent, Done: t.Done - f.Done,
			Failed: t.Failed - f.Failed, Latency: t.Latency.Sub(&f.Latency), Max: t.Max})
	}
	return s
}
