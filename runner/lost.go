package runner

import (
	"fmt"
	"strings"
)

// A run that failed to keep data it needed (a write that failed, a full
// disk, samples that stopped) cannot be judged as if it were whole: it
// exits 3 whatever the checks said, and says what is missing.

// lose records that what could not be kept, and why (err alone when what
// is empty, as when err names it already).
func (r *run) lose(what string, err error) {
	if err == nil {
		return
	}
	msg := err.Error()
	if what != "" && !strings.Contains(msg, what) {
		msg = what + ": " + msg
	}
	r.lostM.Lock()
	defer r.lostM.Unlock()
	// meta.json is rewritten at every phase: one line, counted, per thing lost.
	key, _, _ := strings.Cut(msg, ":")
	for i, l := range r.lost {
		if k, _, _ := strings.Cut(l.msg, ":"); k == key {
			r.lost[i].n++
			return
		}
	}
	r.lost = append(r.lost, lostLine{msg, 1})
}

// lostLine is one thing lost, and how many times.
type lostLine struct {
	msg string
	n   int
}

// keepMeta rewrites meta.json, recording a failure as lost data.
func (r *run) keepMeta() {
	r.lose("meta.json", r.writeMeta())
}

// losses is everything lost so far: the run directory's files first, then
// the rest in the order it happened.
func (r *run) losses() []string {
	out := r.w.Losses()
	r.lostM.Lock()
	defer r.lostM.Unlock()
	for _, l := range r.lost {
		if l.n > 1 {
			out = append(out, fmt.Sprintf("%s (%d times)", l.msg, l.n))
			continue
		}
		out = append(out, l.msg)
	}
	return out
}

// lostCause is the one-line cause of a run that lost data.
func lostCause(lost []string) string {
	return "lost data: " + strings.Join(lost, "; ")
}
