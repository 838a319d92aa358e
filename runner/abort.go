package runner

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/soak-dev/soak/checks"
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
	return &aborter{watch: checks.NewWatch(r.sc, r.opts.FailFast), done: make(chan struct{})}
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

// watchLoad judges the load's error rate over the last checks.LoadWindow
// every interval until ctx ends. The counters are the run's live ones
// (load.Stats): failed requests honour the phase's expect_status.
func (r *run) watchLoad(ctx context.Context) {
	if r.abort == nil || r.abort.watch == nil {
		return
	}
	type point struct {
		t           time.Time
		req, failed int64
		phase       string
	}
	every := r.sc.Interval.D()
	if every <= 0 || every > time.Second {
		every = time.Second
	}
	t := time.NewTicker(every)
	defer t.Stop()
	var window []point
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			name, kind, _, _, _, _ := r.phase.get()
			p := point{now, r.stats.Requests.Load(), r.stats.Errors.Load(), name}
			window = append(window, p)
			// Keep one window of the current phase run only.
			for len(window) > 1 && (window[0].phase != name || now.Sub(window[0].t) > checks.LoadWindow) {
				window = window[1:]
			}
			first := window[0]
			if now.Sub(first.t) < checks.LoadWindow-every/2 {
				continue
			}
			base, _, _ := strings.Cut(name, "#")
			r.abort.mu.Lock()
			res := r.abort.watch.Load(name, base, kind, p.req-first.req, p.failed-first.failed, now.Sub(first.t))
			r.abort.mu.Unlock()
			r.abortOn(res, now)
		}
	}
}
