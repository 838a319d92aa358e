package stats

import (
	"math/bits"
	"time"
)

// HistBuckets is the number of buckets of a Hist: log-linear over
// microseconds, 8 per power of two (at most 12.5% wide), exact below 16 µs,
// up to 2^40 µs (12.7 days; longer ones count in the last bucket).
const HistBuckets = 16 + 8*(40-4)

// Hist counts durations in HistBuckets buckets. Hists of the same thing
// add and subtract bucket by bucket, so a window is the difference of two
// running totals and shards merge by adding.
type Hist [HistBuckets]uint64

// HistIndex is the bucket of d (a negative d counts as 0).
func HistIndex(d time.Duration) int {
	v := min(uint64(max(d, 0)/time.Microsecond), 1<<40-1)
	if v < 16 {
		return int(v)
	}
	e := bits.Len64(v) // >= 5
	m := v >> (e - 4)  // the top 4 bits: 8..15
	return 16 + (e-5)*8 + int(m-8)
}

// histLow is the smallest duration of bucket i.
func histLow(i int) time.Duration {
	if i < 16 {
		return time.Duration(i) * time.Microsecond
	}
	e := (i-16)/8 + 5
	m := uint64((i-16)%8 + 8)
	return time.Duration(m<<(e-4)) * time.Microsecond
}

// Add counts d.
func (h *Hist) Add(d time.Duration) { h[HistIndex(d)]++ }

// Count is how many durations h holds.
func (h *Hist) Count() uint64 {
	var n uint64
	for _, c := range h {
		n += c
	}
	return n
}

// Sub returns h minus o: what was counted between two running totals.
func (h *Hist) Sub(o *Hist) Hist {
	var d Hist
	for i := range h {
		d[i] = h[i] - o[i]
	}
	return d
}

// Quantile bounds the q-quantile (0..1, the ceil(q×n)-th smallest
// duration) of what h holds: it lies in [lo, hi). ok is false when h is
// empty. A threshold judged on lo (or hi) fails only when it certainly fails.
func (h *Hist) Quantile(q float64) (lo, hi time.Duration, ok bool) {
	n := h.Count()
	if n == 0 {
		return 0, 0, false
	}
	rank := uint64(q * float64(n))
	if float64(rank) < q*float64(n) || rank == 0 {
		rank++
	}
	rank = min(rank, n)
	var cum uint64
	for i, c := range h {
		if cum += c; cum >= rank {
			hi := time.Duration(1<<63 - 1)
			if i+1 < HistBuckets {
				hi = histLow(i + 1)
			}
			return histLow(i), hi, true
		}
	}
	return 0, 0, false // not reached: cum ends at n >= rank
}
