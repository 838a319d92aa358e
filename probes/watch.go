package probes

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/soak-dev/soak/record"
	"github.com/soak-dev/soak/series"
)

// DefaultInterval is the time between two samples of `soak probe` and of a run.
const DefaultInterval = time.Second

// WatchOptions configure Watch. The zero value prints a table every
// DefaultInterval until ctx ends.
type WatchOptions struct {
	Interval time.Duration // between samples; 0 means DefaultInterval
	Count    int           // samples to take; 0 means until ctx ends or the process exits
	JSON     bool          // one JSON sample per line instead of tables
	// Redraw clears the screen before each table, so a terminal shows the
	// latest sample in place, like top. Off: blocks follow one another
	// (a pipe, a file). Ignored with JSON.
	Redraw bool
	// Notes receives the notes on how the process is read (which witness
	// of connections' lives ran, and why not the kernel's) when JSON keeps
	// them out of the output; nil drops them there.
	Notes io.Writer
}

// clearScreen moves the cursor home and clears the screen (ANSI).
const clearScreen = "\x1b[H\x1b[2J"

// Watch samples t every interval and prints each sample to w, like top for
// connections. It returns when ctx ends, Count samples are printed or the
// process exits (an error saying so).
func Watch(ctx context.Context, t Target, o WatchOptions, w io.Writer, opts ...Option) error {
	if o.Interval <= 0 {
		o.Interval = DefaultInterval
	}
	if t.Node == "" {
		t.Node = strconv.Itoa(t.PID)
	}
	s, err := NewSampler(t, opts...)
	if err != nil {
		return err
	}
	defer s.Close()
	notes := w
	if o.JSON {
		notes = o.Notes
	}
	if why := s.FDFallback(); why != "" && notes != nil && !s.forceProc {
		fmt.Fprintf(notes, "note: fds read from /proc/PID/fd: %s\n\n", why)
	}
	closed := newClosedTally(s, o.Interval)
	if notes != nil && s.events > 0 {
		fmt.Fprintf(notes, "note: %s\n\n", closed.about)
	}
	tick := time.NewTicker(o.Interval)
	defer tick.Stop()
	enc := json.NewEncoder(w)
	for n := 0; o.Count == 0 || n < o.Count; n++ {
		if n > 0 {
			select {
			case <-ctx.Done():
				return nil
			case <-tick.C:
			}
		}
		// Leave a tenth of the interval so a slow endpoint never delays the next tick.
		sctx, cancel := context.WithTimeout(ctx, o.Interval-o.Interval/10)
		smp, ended := s.Sample(sctx, time.Now())
		cancel()
		closed.add(ended)
		if o.JSON {
			if err := enc.Encode(smp); err != nil {
				return fmt.Errorf("write sample: %w", err)
			}
		} else if o.Redraw {
			if _, err := io.WriteString(w, clearScreen); err != nil {
				return fmt.Errorf("write sample: %w", err)
			}
		}
		if !o.JSON {
			if err := writeTable(w, smp, s.Method(), closed); err != nil {
				return fmt.Errorf("write sample: %w", err)
			}
		}
		if smp.Gone {
			return fmt.Errorf("pid %d exited", t.PID)
		}
	}
	return nil
}

// WriteTable prints one sample as a human-readable block: a line per
// layer, then goroutines by class, FDs and process facts.
func WriteTable(w io.Writer, s record.Sample, method string) error {
	return writeTable(w, s, method, nil)
}

// writeTable is WriteTable with the connections closed so far, when known.
func writeTable(w io.Writer, s record.Sample, method string, closed *closedTally) error {
	var b strings.Builder
	fmt.Fprintf(&b, "%s  node=%s pid=%d method=%s", s.Time.Format("15:04:05"), s.Node, s.PID, method)
	if closed != nil {
		fmt.Fprintf(&b, " witness=%s", closed.witness)
	}
	if s.Sockets != nil && s.Sockets.NetNS != "" {
		fmt.Fprintf(&b, " netns=%s", s.Sockets.NetNS)
	}
	b.WriteString("\n")
	tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "layer\testab\tidle\tidle max\tidle p99\tTIME_WAIT\tCLOSE_WAIT\tcw age\tother\t")
	if s.Sockets != nil {
		for _, name := range slices.Sorted(maps.Keys(s.Sockets.Layers)) {
			l := s.Sockets.Layers[name]
			var mx, p99 string = "-", "-"
			if l.Idle != nil {
				mx, p99 = ms(l.Idle.Max, l.Idle.Estimated), ms(l.Idle.P99, l.Idle.Estimated)
			}
			other := 0
			for st, n := range l.ByState {
				if st != series.Established && st != series.TimeWait && st != series.CloseWait {
					other += n
				}
			}
			fmt.Fprintf(tw, "%s\t%d\t%d\t%s\t%s\t%d\t%d\t%s\t%d\t\n", name, l.Established(), l.IdleConns,
				mx, p99, l.ByState[series.TimeWait], l.ByState[series.CloseWait], ms(l.CloseWaitMaxAgeMs, false), other)
		}
	}
	tw.Flush()
	if g := s.Goroutines; g != nil && g.Source == record.SourceThreads {
		// No pprof or metrics: the count is of OS threads, not goroutines.
		fmt.Fprintf(&b, "threads %d (OS threads from /proc; give --pprof or --metrics for goroutines)\n", g.Total)
	} else if g != nil {
		fmt.Fprintf(&b, "goroutines %d (%s)", g.Total, g.Source)
		for _, c := range slices.Sorted(maps.Keys(g.ByClass)) {
			fmt.Fprintf(&b, "  %s=%d", c, g.ByClass[c])
		}
		b.WriteString("\n")
		for _, st := range g.Top {
			fmt.Fprintf(&b, "  %6d  %s\n", st.Count, st.Func)
		}
	}
	if f := s.FDs; f != nil {
		fmt.Fprintf(&b, "fds %d/%d", f.Total, f.Limit)
		for _, t := range slices.Sorted(maps.Keys(f.ByType)) {
			fmt.Fprintf(&b, "  %s=%d", t, f.ByType[t])
		}
		if f.Source != "" {
			fmt.Fprintf(&b, "  (via %s)", f.Source)
		}
		b.WriteString("\n")
	}
	if p := s.Process; p != nil {
		fmt.Fprintf(&b, "rss %.1f MiB  cpu %.2fs  threads %d\n", float64(p.RSS)/(1<<20), p.CPUSeconds, p.Threads)
	}
	for _, d := range series.Registered() {
		if v, ok := s.Values[d.Name]; ok {
			fmt.Fprintf(&b, "%s %g %s\n", d.Name, v, d.Unit)
		}
	}
	closed.write(&b)
	for _, e := range s.Errors {
		fmt.Fprintf(&b, "error: %s\n", e)
	}
	b.WriteString("\n")
	_, err := io.WriteString(w, b.String())
	return err
}

func ms(v int64, estimated bool) string {
	if v == 0 {
		return "-"
	}
	s := (time.Duration(v) * time.Millisecond).Round(100 * time.Millisecond).String()
	if estimated {
		s = "~" + s
	}
	return s
}

// closedTally sums the connections seen to end since Watch started, per
// layer, side and closer, from one witness: the kernel event witness's when
// it runs (every connection, exact idle before close), else the polling
// tracker's (connections that lived at least about one interval, idle to
// one interval). Bounded: one entry per layer, side and closer.
type closedTally struct {
	witness string // record.WitnessKernelEvents or EventsPolling
	from    string // the witness of the conns counted
	about   string // which witness ran, and why not the kernel's
	by      map[closedKey]*closedCount
}

type closedKey struct{ layer, side, closedBy string }

type closedCount struct{ n, idleSumMs, idleMaxMs int64 }

func newClosedTally(s *Sampler, interval time.Duration) *closedTally {
	t := &closedTally{witness: s.EventsMethod(), from: record.WitnessKernel, by: map[closedKey]*closedCount{}}
	switch why := s.EventsFallback(); {
	case t.witness == record.WitnessKernelEvents:
		t.from = record.WitnessKernelEvents
		t.about = "connections' lives from kernel events (every open and close, exact idle before close)"
	case why != "":
		t.about = fmt.Sprintf("connections' lives from polling only (1 per %s), not kernel events: %s", interval, why)
	default:
		t.about = fmt.Sprintf("connections' lives from polling (1 per %s)", interval)
	}
	return t
}

func (t *closedTally) add(ended []record.Conn) {
	for _, c := range ended {
		if c.Witness != t.from || c.ClosedBy == record.OpenAtEnd {
			continue
		}
		k := closedKey{c.Layer, c.Side, c.ClosedBy}
		n := t.by[k]
		if n == nil {
			n = &closedCount{}
			t.by[k] = n
		}
		n.n++
		n.idleSumMs += c.IdleBeforeCloseMs
		n.idleMaxMs = max(n.idleMaxMs, c.IdleBeforeCloseMs)
	}
}

// write prints the tally: a line per layer, side and closer.
func (t *closedTally) write(b *strings.Builder) {
	if t == nil {
		return
	}
	fmt.Fprintf(b, "closed since start (%s):", t.witness)
	if len(t.by) == 0 {
		b.WriteString(" none\n")
		return
	}
	b.WriteString("\n")
	tw := tabwriter.NewWriter(b, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "layer\tside\tclosed by\tn\tidle before close avg\tmax\t")
	keys := slices.SortedFunc(maps.Keys(t.by), func(a, b closedKey) int {
		return strings.Compare(a.layer+"\x00"+a.side+"\x00"+a.closedBy, b.layer+"\x00"+b.side+"\x00"+b.closedBy)
	})
	for _, k := range keys {
		n := t.by[k]
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\t\n", k.layer, k.side, k.closedBy, n.n,
			closedMs(n.idleSumMs/n.n), closedMs(n.idleMaxMs))
	}
	tw.Flush()
}

func closedMs(v int64) string {
	return (time.Duration(v) * time.Millisecond).Round(time.Millisecond).String()
}
