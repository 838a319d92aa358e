// Package stats holds the robust statistics soak judges and reports with:
// Theil-Sen slopes, the Mann-Kendall trend test, medians and quantiles, and
// a least-squares fit. Every function leaves its inputs unmodified.
package stats

import (
	"math"
	"slices"
)

// Median returns the median of v, in any order (NaN when empty).
func Median(v []float64) float64 { return Quantile(v, 0.5) }

// Quantile returns the q-quantile (0..1) of v, in any order, by linear
// interpolation between ranks (NaN when empty).
func Quantile(v []float64, q float64) float64 {
	if len(v) == 0 {
		return math.NaN()
	}
	s := slices.Clone(v)
	slices.Sort(s)
	pos := q * float64(len(s)-1)
	lo := int(math.Floor(pos))
	hi := int(math.Ceil(pos))
	return s[lo] + (s[hi]-s[lo])*(pos-float64(lo))
}

// TheilSen returns the Theil-Sen slope of y over x: the median of the
// slopes of all pairs with distinct x, NaN when there is no such pair. It
// ignores up to ~29% of outliers, which a least-squares line does not.
// O(n^2): thin or downsample long inputs first (Thin).
func TheilSen(x, y []float64) float64 {
	var slopes []float64
	for i := range x {
		for j := i + 1; j < len(x); j++ {
			if dx := x[j] - x[i]; dx != 0 {
				slopes = append(slopes, (y[j]-y[i])/dx)
			}
		}
	}
	return Median(slopes)
}

// Thin returns at most n points of (x, y), evenly spaced by index and
// keeping the first and the last; shorter inputs come back as they are.
func Thin(x, y []float64, n int) ([]float64, []float64) {
	if len(x) <= n || n < 2 {
		return x, y
	}
	tx, ty := make([]float64, 0, n), make([]float64, 0, n)
	for i := 0; i < n; i++ {
		j := i * (len(x) - 1) / (n - 1)
		tx, ty = append(tx, x[j]), append(ty, y[j])
	}
	return tx, ty
}

// MannKendall returns the Mann-Kendall S statistic of y (in x order), its
// Z score and the one-sided p-value for an upward trend, with the tie
// correction of the variance and the normal approximation with continuity
// correction. Needs about 6 points before p can fall below 0.01.
func MannKendall(y []float64) (s, z, pUp float64) {
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

// Trend gives judges of a series the statistics of soak's no_growth check:
// the Theil-Sen slope of y over x and the one-sided Mann-Kendall p-value
// of an upward trend. Downsample first.
func Trend(x, y []float64) (slope, pUp float64) {
	_, _, pUp = MannKendall(y)
	return TheilSen(x, y), pUp
}

// OLS fits y = a + b*x by least squares; ok is false when x does not vary.
func OLS(x, y []float64) (a, b float64, ok bool) {
	n := float64(len(x))
	if len(x) < 2 {
		return 0, 0, false
	}
	var sx, sy float64
	for i := range x {
		sx += x[i]
		sy += y[i]
	}
	mx, my := sx/n, sy/n
	var sxx, sxy float64
	for i := range x {
		sxx += (x[i] - mx) * (x[i] - mx)
		sxy += (x[i] - mx) * (y[i] - my)
	}
	if sxx == 0 {
		return my, 0, false
	}
	b = sxy / sxx
	return my - b*mx, b, true
}
