package stats

import (
	"testing"
	"time"
)

// Every duration falls in a bucket whose bounds hold it, the buckets are
// in order and at most 12.5% wide, and quantiles bound the exact ones.
func TestHist(t *testing.T) {
	t.Parallel()
	prev := -1
	for _, d := range []time.Duration{0, time.Microsecond, 15 * time.Microsecond, 16 * time.Microsecond, 31 * time.Microsecond,
		32 * time.Microsecond, time.Millisecond, 249 * time.Millisecond, 250 * time.Millisecond, time.Second, time.Hour, 1<<63 - 1} {
		i := HistIndex(d)
		if i < prev || i >= HistBuckets {
			t.Fatalf("%v in bucket %d after %d", d, i, prev)
		}
		prev = i
		lo, hi := histLow(i), time.Duration(1<<63-1)
		if i+1 < HistBuckets {
			hi = histLow(i + 1)
		}
		if d < lo || d >= hi && i+1 < HistBuckets {
			t.Errorf("%v not in its bucket %d [%v, %v)", d, i, lo, hi)
		}
		if d >= 16*time.Microsecond && i+1 < HistBuckets && float64(hi-lo) > 0.125*float64(hi)+float64(time.Microsecond) {
			t.Errorf("bucket %d [%v, %v) too wide", i, lo, hi)
		}
	}
	var h, base Hist
	if _, _, ok := h.Quantile(0.99); ok {
		t.Error("quantile of an empty hist")
	}
	for i := range 1000 {
		h.Add(time.Duration(i+1) * time.Millisecond) // 1ms..1000ms
		if i == 499 {
			base = h
		}
	}
	for _, tc := range []struct {
		h    Hist
		q    float64
		want time.Duration
	}{{h, 0.99, 990 * time.Millisecond}, {h, 0.5, 500 * time.Millisecond}, {h, 1, time.Second}, {h.Sub(&base), 0.5, 750 * time.Millisecond}} {
		lo, hi, ok := tc.h.Quantile(tc.q)
		if !ok || tc.want < lo || tc.want >= hi {
			t.Errorf("q%v: [%v, %v), want it to hold %v", tc.q, lo, hi, tc.want)
		}
	}
}
