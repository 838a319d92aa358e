package remote

import (
	"context"
	"fmt"
	"time"

	"github.com/soak-dev/soak/record"
)

// Tail reads a node's samples from Prometheus while the run goes on, as
// tail -f reads a file: each ReadTo asks for the steps after the last one
// it read. The steps lie on a grid of the step from the Unix epoch, and a
// read's window is half-open on it, [Next, the last step at or before
// end]: successive reads never ask for a step twice and never skip one,
// and a read that fails is asked again, whole, by the next.
type Tail struct {
	p    *Prometheus
	next time.Time // the first step not read yet
	n    int       // samples emitted
}

// Tail starts reading at the last step at or before from: the node's
// level when sampling began, before any load (drain's baseline).
func (p *Prometheus) Tail(from time.Time) *Tail {
	return &Tail{p: p, next: p.onGrid(from)}
}

// onGrid is the last step of the grid at or before t.
func (p *Prometheus) onGrid(t time.Time) time.Time {
	ms := t.UnixMilli()
	return time.UnixMilli(ms - ms%p.step.Milliseconds())
}

// Next is the first step not read yet.
func (t *Tail) Next() time.Time { return t.next }

// Samples is how many samples the reads gave so far.
func (t *Tail) Samples() int { return t.n }

// ReadTo reads every step from Next to end (the last step at or before
// it), in chunks of MaxStepsPerQuery steps each bounded by QueryTimeout,
// calls emit with each sample in time order and returns how many it gave.
// A chunk Prometheus cannot answer, or whose answer soak cannot read,
// ends ReadTo with an error naming the chunk; Next then stays after the
// last chunk read whole (a chunk is emitted whole or not at all), so the
// next ReadTo asks again for what failed and nothing is emitted twice.
func (t *Tail) ReadTo(ctx context.Context, end time.Time, emit func(record.Sample)) (int, error) {
	p, n := t.p, 0
	last := p.onGrid(end)
	for !t.next.After(last) {
		from := t.next
		to := from.Add(p.step * (MaxStepsPerQuery - 1))
		if to.After(last) {
			to = last
		}
		if err := p.readChunk(ctx, from, to, func(s record.Sample) { n++; emit(s) }); err != nil {
			t.n += n
			return n, fmt.Errorf("remote node %s: prometheus %s: %s to %s: %w", p.node, p.url,
				from.UTC().Format(time.RFC3339Nano), to.UTC().Format(time.RFC3339Nano), err)
		}
		t.next = to.Add(p.step)
	}
	t.n += n
	return n, nil
}
