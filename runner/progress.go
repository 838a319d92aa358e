package runner

import (
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"
	"time"

	"golang.org/x/term"

	"github.com/soak-dev/soak/checks"
	"github.com/soak-dev/soak/record"
)

// Status is one snapshot of a run in progress, as the progress display
// (and --json consumers) see it.
type Status struct {
	Time        time.Time        `json:"t"`
	Phase       string           `json:"phase"`
	Kind        string           `json:"kind"`
	PhaseIndex  int              `json:"phase_index"`
	PhaseTotal  int              `json:"phase_total"`
	PhaseLeft   float64          `json:"phase_left_s"`
	RunLeft     float64          `json:"run_left_s"`
	Rate        float64          `json:"rate"`
	Requests    int64            `json:"requests"`
	Errors      int64            `json:"errors"`
	Established map[string]int   `json:"established"`
	Goroutines  map[string]int   `json:"goroutines"`
	FDs         map[string]int   `json:"fds"`
	IdleMaxMs   map[string]int64 `json:"idle_max_ms"`
	// IdleLimitMs is each layer's pass limit as the reclaim check's
	// default: idle timeout + one interval + checks.DefaultReclaimSlack +
	// the timer lateness seen so far (capped at the timeout).
	// A layer whose IdleMaxMs is above it is marked on the line.
	IdleLimitMs  map[string]int64 `json:"idle_limit_ms,omitempty"`
	BackendConns map[string]int   `json:"backend_conns,omitempty"`
}

type progress struct {
	done chan struct{}
	quit chan struct{}
}

func (p *progress) stop() {
	close(p.quit)
	<-p.done
}

// startProgress shows the run's progress on opts.Progress: a live line on
// a terminal, a plain line every few seconds elsewhere, JSON lines with
// --json, nothing with --quiet.
func (r *run) startProgress(ctxDone interface{ Done() <-chan struct{} }) *progress {
	p := &progress{done: make(chan struct{}), quit: make(chan struct{})}
	mode, w := r.opts.ProgressMode, r.opts.Progress
	if w == nil || mode == "quiet" {
		close(p.done)
		return p
	}
	live := false
	if mode == "" || mode == "auto" {
		if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
			live = true
		}
		mode = "lines"
	}
	every := 5 * time.Second
	if live || mode == "json" {
		every = time.Second
	}
	runStart := time.Now()
	planned := r.sc.Planned()
	go func() {
		defer close(p.done)
		t := time.NewTicker(every)
		defer t.Stop()
		var lastReq int64
		lastT, lastPhase := time.Now(), ""
		for {
			select {
			case <-p.quit:
				if live {
					fmt.Fprint(w, "\r\033[K")
				}
				return
			case <-ctxDone.Done():
				if live {
					fmt.Fprint(w, "\r\033[K")
				}
				return
			case now := <-t.C:
				s := r.status(now, runStart, planned)
				if s.Phase != lastPhase {
					// A new phase: its rate counts from its own start,
					// not a window spilling over from the last one.
					lastReq, lastT, lastPhase = r.phase.startRequests(), r.phase.startTime(), s.Phase
				}
				if dt := now.Sub(lastT).Seconds(); dt > 0 {
					s.Rate = float64(s.Requests-lastReq) / dt
				}
				lastReq, lastT = s.Requests, now
				switch {
				case mode == "json":
					b, _ := json.Marshal(s)
					fmt.Fprintf(w, "%s\n", b)
				case live:
					line := s.line()
					if width, _, err := term.GetSize(int(w.(*os.File).Fd())); err == nil && width > 10 && len(line) > width-1 {
						line = line[:width-1]
					}
					fmt.Fprint(w, "\r\033[K"+line)
				default:
					fmt.Fprintln(w, s.line())
				}
			}
		}
	}()
	return p
}

func (r *run) status(now, runStart time.Time, planned time.Duration) Status {
	name, kind, start, phasePlanned, index, total := r.phase.get()
	s := Status{Time: now, Phase: name, Kind: kind, PhaseIndex: index, PhaseTotal: total,
		PhaseLeft:   max(0, (phasePlanned - now.Sub(start)).Seconds()),
		RunLeft:     max(0, (planned - now.Sub(runStart)).Seconds()),
		Requests:    r.stats.Requests.Load(),
		Errors:      r.stats.Errors.Load(),
		Established: map[string]int{}, Goroutines: map[string]int{}, FDs: map[string]int{}, IdleMaxMs: map[string]int64{},
		BackendConns: map[string]int{}, IdleLimitMs: map[string]int64{}}
	late := r.lateSoFar()
	for name, l := range r.sc.Layers {
		if l != nil && l.IdleTimeout > 0 {
			to := l.IdleTimeout.D()
			s.IdleLimitMs[name] = (to + r.sc.Interval.D() + checks.DefaultReclaimSlack + min(late, to)).Milliseconds()
		}
	}
	for node, ns := range r.samplers {
		smp := ns.Latest()
		if smp.Goroutines != nil {
			s.Goroutines[node] = smp.Goroutines.Total
		}
		if smp.FDs != nil {
			s.FDs[node] = smp.FDs.Total
		}
		if smp.Sockets != nil {
			for layer, ls := range smp.Sockets.Layers {
				if layer == record.LayerOther {
					continue
				}
				s.Established[layer] += ls.Established()
				if ls.Idle != nil && ls.Idle.Max > s.IdleMaxMs[layer] {
					s.IdleMaxMs[layer] = ls.Idle.Max
				}
			}
		}
	}
	for name, b := range r.backends {
		s.BackendConns[name] = b.Live().Open
	}
	return s
}

// line renders a status as one line.
func (s Status) line() string {
	var b strings.Builder
	fmt.Fprintf(&b, "[%d/%d] %s (%s) %s left, run %s left | %.0f req/s, %d errors | est",
		s.PhaseIndex, s.PhaseTotal, s.Phase, s.Kind, fmtSecs(s.PhaseLeft), fmtSecs(s.RunLeft), s.Rate, s.Errors)
	for _, k := range slices.Sorted(maps.Keys(s.Established)) {
		fmt.Fprintf(&b, " %s=%d", k, s.Established[k])
		if idle := s.IdleMaxMs[k]; idle > 0 {
			if limit := s.IdleLimitMs[k]; limit > 0 && idle > limit {
				fmt.Fprintf(&b, "(idle %.0fs > limit %.1fs: NOT RECLAIMED)", float64(idle)/1000, float64(limit)/1000)
			} else {
				fmt.Fprintf(&b, "(idle %.0fs)", float64(idle)/1000)
			}
		}
	}
	b.WriteString(" | gor")
	for _, k := range slices.Sorted(maps.Keys(s.Goroutines)) {
		fmt.Fprintf(&b, " %s=%d", k, s.Goroutines[k])
	}
	b.WriteString(" | fds")
	for _, k := range slices.Sorted(maps.Keys(s.FDs)) {
		fmt.Fprintf(&b, " %s=%d", k, s.FDs[k])
	}
	return b.String()
}

func fmtSecs(s float64) string {
	d := time.Duration(s) * time.Second
	if d >= time.Hour {
		return fmt.Sprintf("%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
	}
	return fmt.Sprintf("%dm%02ds", int(d.Minutes()), int(d.Seconds())%60)
}
