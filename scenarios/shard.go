package scenarios

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// MaxShards bounds --shard's N.
const MaxShards = 1000

// Segment is one shard's part of the load (k6's execution segments): shard
// Index of Count (1-based). Its part of a count x is the integers in
// (x*(Index-1)/Count, x*Index/Count], so the parts of all shards sum
// exactly to x and remainders spread over the shards evenly.
type Segment struct {
	Index, Count int
}

// ParseSegment reads "I/N" (1 <= I <= N <= MaxShards).
func ParseSegment(s string) (Segment, error) {
	i, n, ok := strings.Cut(strings.TrimSpace(s), "/")
	idx, err1 := strconv.Atoi(i)
	cnt, err2 := strconv.Atoi(n)
	if !ok || err1 != nil || err2 != nil {
		return Segment{}, fmt.Errorf("shard %q: want I/N, e.g. 1/4", s)
	}
	seg := Segment{Index: idx, Count: cnt}
	return seg, seg.check()
}

func (g Segment) check() error {
	if g.Count < 1 || g.Count > MaxShards || g.Index < 1 || g.Index > g.Count {
		return fmt.Errorf("shard %d/%d: want 1 <= I <= N <= %d", g.Index, g.Count, MaxShards)
	}
	return nil
}

func (g Segment) String() string { return fmt.Sprintf("%d/%d", g.Index, g.Count) }

// Part is this shard's part of x (x >= 0).
func (g Segment) Part(x int) int {
	return floorDiv(x, g.Index, g.Count) - floorDiv(x, g.Index-1, g.Count)
}

// floorDiv is floor(x*i/n) without overflow for x up to MaxInt/MaxShards.
func floorDiv(x, i, n int) int { return x/n*i + x%n*i/n }

// First says whether this is the first shard, the one that runs the
// setup steps (request, exec) every shard relies on.
func (g Segment) First() bool { return g.Index == 1 }

// rate is this shard's part of r; ok is false when r was above 0 and the
// part is nothing (rate 0 would mean as fast as possible).
func (g Segment) rate(r *Rate) (ok bool) {
	if r.Freq == 0 {
		return true
	}
	r.Freq = g.Part(r.Freq)
	return r.Freq > 0
}

// cap is this shard's part of a bound such as the open connections of a
// rate-driven phase: at least 1, since 0 means the default.
func (g Segment) cap(c *int) {
	if *c > 0 {
		*c = max(g.Part(*c), 1)
	}
}

// count is this shard's part of a count; false when nothing is left.
func (g Segment) count(c *int) bool {
	*c = g.Part(*c)
	return *c > 0
}

// Shard keeps this shard's part of every phase's rate and connection
// counts (each kind's shard method says which), so Count shards together
// put the whole load. A phase whose part is nothing becomes a quiet phase
// of its planned length, so the shards stay in step; setup steps run on
// the first shard only. Scale durations first: a phase's planned length
// is kept.
func (s *Scenario) Shard(g Segment) error {
	if err := g.check(); err != nil {
		return err
	}
	if g.Count == 1 {
		return nil
	}
	for _, p := range s.Phases {
		sp := p.Spec()
		if sp == nil || sp.shard(g) {
			continue
		}
		wait := Duration(max(sp.Planned(), time.Millisecond))
		if _, step := sp.(setupStep); step {
			wait = Duration(time.Millisecond) // its timeout, not its length: do not wait for it
		}
		*p = Phase{Name: p.Name, Repeat: p.Repeat, Faults: p.Faults, Quiet: &Quiet{Duration: wait}}
	}
	return nil
}

// setupStep marks the kinds that prepare the SUT once (request, exec):
// on shards after the first they are skipped, not waited for.
type setupStep interface{ setupStep() }
