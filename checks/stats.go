package checks

import (
	"math"
	"sort"
)

// theilSen returns the Theil-Sen slope of y over x: the median of the
// slopes of all pairs with distinct x. It ignores up to ~29% of outliers,
// which a least-squares line does not. O(n^2): downsample first.
func theilSen(x, y []float64) float64 {
	var slopes []float64
	for i := range x {
		for j := i + 1; j < len(x); j++ {
			if dx := x[j] - x[i]; dx != 0 {
				slopes = append(slopes, (y[j]-y[i])/dx)
			}
		}
	}
	return median(slopes)
}

// mannKendall returns the Mann-Kendall S statistic of y (in x order), its
// Z score and the one-sided p-value for an upward trend, with the tie
// correction of the variance and the normal approximation with continuity
// correction. Needs about 6 points before p can fall below 0.01.
func mannKendall(y []float64) (s, z, pUp float64) {
	n := len(y)
	for i := 0; i < n; i++ {
		for j := i + 1; j < n; j++ {
			switch {
			case y[j] > y[i]:
				s++
			case y[j] < y[i]:
				s--
			}
		}
	}
	nf := float64(n)
	variance := nf * (nf - 1) * (2*nf + 5)
	counts := map[float64]int{}
	for _, v := range y {
		counts[v]++
	}
	for _, t := range counts {
		if t > 1 {
			tf := float64(t)
			variance -= tf * (tf - 1) * (2*tf + 5)
		}
	}
	variance /= 18
	if variance <= 0 {
		return s, 0, 1
	}
	switch {
	case s > 0:
		z = (s - 1) / math.Sqrt(variance)
	case s < 0:
		z = (s + 1) / math.Sqrt(variance)
	}
	return s, z, 0.5 * math.Erfc(z/math.Sqrt2)
}

// median returns the median of v (NaN when empty); v is not modified.
func median(v []float64) float64 {
	return quantile(v, 0.5)
}

// quantile returns the q-quantile of v by linear interpolation.
func quantile(v []float64, q float64) float64 {
	if len(v) == 0 {
		return math.NaN()
	}
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	pos := q * float64(len(s)-1)
	lo := int(math.Floor(pos))
	hi := int(math.Ceil(pos))
	return s[lo] + (s[hi]-s[lo])*(pos-float64(lo))
}

// Trend gives other judges of a series (make bench judges soak's own RSS)
// the statistics of no_growth: the Theil-Sen slope of y over x and the
// one-sided Mann-Kendall p-value of an upward trend. Downsample first.
func Trend(x, y []float64) (slope, pUp float64) {
	_, _, pUp = mannKendall(y)
	return theilSen(x, y), pUp
}
