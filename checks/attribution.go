package checks

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/soak-dev/soak/record"
)

// MaxGrownStacks is how many grown stacks a check names.
const MaxGrownStacks = 5

// classFrames names the frame that makes a goroutine of each class.
var classFrames = map[string]string{
	record.ClassServerConn:     "net/http.(*conn).serve",
	record.ClassTransportRead:  "net/http.(*persistConn).readLoop",
	record.ClassTransportWrite: "net/http.(*persistConn).writeLoop",
	record.ClassFasthttpServer: "github.com/valyala/fasthttp.(*workerPool).workerFunc",
	record.ClassFasthttpClient: "github.com/valyala/fasthttp client connection",
}

// stackEnds keeps, per node, the goroutine groups of the last sample
// before load (the baseline) and of the last sample: all a diff needs,
// without keeping stacks for every sample.
type stackEnds struct {
	base, end   *record.Goroutines
	baseT, endT time.Time
	// first is the node's earliest profile: the baseline when no profile
	// came before load (a node slow to answer its first fetch).
	first  *record.Goroutines
	firstT time.Time
}

// noteStacks keeps s's goroutine groups if it is a node's baseline or end
// so far. Only pprof gives groups.
func (d *runData) noteStacks(s record.Sample) {
	g := s.Goroutines
	if g == nil || g.Source != record.SourcePprof {
		return
	}
	if d.stacks == nil {
		d.stacks = map[string]*stackEnds{}
	}
	e := d.stacks[s.Node]
	if e == nil {
		e = &stackEnds{}
		d.stacks[s.Node] = e
	}
	ls := d.loadStart()
	if (ls.IsZero() || s.Time.Before(ls)) && (e.base == nil || s.Time.After(e.baseT)) {
		e.base, e.baseT = g, s.Time
	}
	if e.first == nil || s.Time.Before(e.firstT) {
		e.first, e.firstT = g, s.Time
	}
	if e.end == nil || s.Time.After(e.endT) {
		e.end, e.endT = g, s.Time
	}
}

// grownStacks diffs a node's goroutine groups, baseline to end, and returns
// the MaxGrownStacks that grew most, largest first.
func (d *runData) grownStacks(node string) ([]record.StackGrowth, time.Time, time.Time) {
	e := d.stacks[node]
	if e == nil || e.end == nil {
		return nil, time.Time{}, time.Time{}
	}
	base, baseT := e.base, e.baseT
	if base == nil {
		base, baseT = e.first, e.firstT
	}
	if base == nil || !e.endT.After(baseT) {
		return nil, time.Time{}, time.Time{}
	}
	type k struct{ class, fn string }
	rows := map[k]*record.StackGrowth{}
	get := func(class, fn string) *record.StackGrowth {
		r := rows[k{class, fn}]
		if r == nil {
			r = &record.StackGrowth{Class: class, Func: fn}
			rows[k{class, fn}] = r
		}
		return r
	}
	for class, n := range e.end.ByClass {
		if class != record.ClassOther {
			get(class, classFrames[class]).End = n
		}
	}
	for class, n := range base.ByClass {
		if class != record.ClassOther {
			get(class, classFrames[class]).Base = n
		}
	}
	for _, st := range e.end.Top {
		get(record.ClassOther, st.Func).End = st.Count
	}
	inBase := map[string]bool{}
	listed := 0
	for _, st := range base.Top {
		get(record.ClassOther, st.Func).Base = st.Count
		inBase[st.Func] = true
		listed += st.Count
	}
	// The baseline lists only its largest "other" stacks; when they add up
	// to the class's count, a stack not listed had none.
	complete := listed >= base.ByClass[record.ClassOther]
	var out []record.StackGrowth
	for _, r := range rows {
		r.Growth = r.End - r.Base
		if r.Class == record.ClassOther && !inBase[r.Func] && !complete {
			r.BaseUnknown = true
		}
		if r.Growth > 0 {
			out = append(out, *r)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Growth != out[j].Growth {
			return out[i].Growth > out[j].Growth
		}
		return out[i].Func < out[j].Func
	})
	if len(out) > MaxGrownStacks {
		out = out[:MaxGrownStacks]
	}
	return out, baseT, e.endT
}

// attribute names the stacks that grew on node in r: Grew, a clause of the
// message and a detail line saying where they come from.
func (d *runData) attribute(node string, r *record.CheckResult) {
	grew, from, to := d.grownStacks(node)
	if len(grew) == 0 {
		if _, ok := d.stacks[node]; !ok {
			r.Details = append(r.Details, "stacks that grew: unknown (no pprof goroutine profile; give the node a goroutines: URL)")
		}
		return
	}
	r.Grew = grew
	r.Message += "; grew most: " + stackText(grew, 3)
	since := "last sample before load"
	if e := d.stacks[node]; e.base == nil {
		since = "the node's first profile: none came before load"
	}
	r.Details = append(r.Details, fmt.Sprintf("stacks that grew from %s (%s) to %s (last sample): %s",
		clock(from), since, clock(to), stackText(grew, MaxGrownStacks)))
}

func stackText(grew []record.StackGrowth, n int) string {
	var parts []string
	for i, g := range grew {
		if i == n {
			break
		}
		base := fmt.Sprint(g.Base)
		if g.BaseUnknown {
			base = "?"
		}
		parts = append(parts, fmt.Sprintf("%s +%d (%s -> %d)", g.Func, g.Growth, base, g.End))
	}
	return strings.Join(parts, ", ")
}
