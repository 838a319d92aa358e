package merge

import (
	"errors"
	"fmt"
	"iter"
	"time"

	"github.com/soak-dev/soak/record"
)

// errStop ends a run's line loop early.
var errStop = errors.New("stop")

// lines turns a run's callback reader (EachSample...) into an iterator,
// so the shards' files are merged by time one line at a time: a day-long
// run is never held in memory.
func lines[T any](each func(func(T) error) error, errp *error) iter.Seq[T] {
	return func(yield func(T) bool) {
		err := each(func(v T) error {
			if !yield(v) {
				return errStop
			}
			return nil
		})
		if err != nil && !errors.Is(err, errStop) && *errp == nil {
			*errp = err
		}
	}
}

// cursor is one shard's next line that is kept.
type cursor[T any] struct {
	shard int
	next  func() (T, bool)
	v     T
	ok    bool
}

func (c *cursor[T]) advance(keep func(int, T) bool) {
	for {
		if c.v, c.ok = c.next(); !c.ok || keep(c.shard, c.v) {
			return
		}
	}
}

// mergeBy writes the lines of every shard that keep accepts, ordered by at
// (each file is in that order already: a k-way merge).
func mergeBy[T any](shards []*shard, each func(*record.Run) func(func(T) error) error,
	keep func(shard int, v T) bool, at func(T) time.Time, put func(T) error) error {
	var readErr error
	cs := make([]*cursor[T], len(shards))
	for i, s := range shards {
		next, stop := iter.Pull(lines(each(s.run), &readErr))
		defer stop()
		cs[i] = &cursor[T]{shard: i, next: next}
		cs[i].advance(keep)
	}
	for {
		var best *cursor[T]
		for _, c := range cs {
			if c.ok && (best == nil || at(c.v).Before(at(best.v))) {
				best = c
			}
		}
		if best == nil {
			return readErr
		}
		if err := put(best.v); err != nil {
			return err
		}
		best.advance(keep)
	}
}

// joinLines writes samples.jsonl, conns.jsonl and events.jsonl.
func joinLines(shards []*shard, w *record.Writer, owner map[string]int) error {
	// A node's samples and kernel ledgers from its owner only; a line of a
	// node no shard's meta names (a damaged run) from the first shard.
	owns := func(i int, node string) bool {
		o, ok := owner[node]
		return o == i || !ok && i == 0
	}
	err := mergeBy(shards, func(r *record.Run) func(func(record.Sample) error) error { return r.EachSample },
		func(i int, s record.Sample) bool { return owns(i, s.Node) },
		func(s record.Sample) time.Time { return s.Time }, w.Sample)
	if err != nil {
		return fmt.Errorf("merge: samples: %w", err)
	}
	err = mergeBy(shards, func(r *record.Run) func(func(record.Conn) error) error { return r.EachConn },
		func(i int, c record.Conn) bool {
			switch c.Witness {
			case record.WitnessKernel, record.WitnessKernelEvents:
				return owns(i, c.Source)
			}
			return true // client ledgers: each shard's own connections; backends: each shard's own
		},
		connTime, w.Conn)
	if err != nil {
		return fmt.Errorf("merge: conns: %w", err)
	}
	err = mergeBy(shards, func(r *record.Run) func(func(record.Event) error) error { return r.EachEvent },
		func(int, record.Event) bool { return true },
		func(e record.Event) time.Time { return e.Time }, w.Event)
	if err != nil {
		return fmt.Errorf("merge: events: %w", err)
	}
	return nil
}

// connTime orders ledger lines by close; those open at the end come last.
func connTime(c record.Conn) time.Time {
	if c.Closed.IsZero() {
		return time.Unix(1<<40, 0)
	}
	return c.Closed
}
