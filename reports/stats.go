package reports

import (
	"math"
	"sort"
)

// theilSen returns the median of pairwise slopes of (x, y): a slope that a
// few outliers cannot drag. Inputs above maxTheilSen points are thinned
// first, since the estimator is O(n^2).
func theilSen(x, y []float64) float64 {
	const maxTheilSen = 300
	if len(x) < 2 {
		return 0
	}
	if n := len(x); n > maxTheilSen {
		tx, ty := make([]float64, 0, maxTheilSen), make([]float64, 0, maxTheilSen)
		for i := 0; i < maxTheilSen; i++ {
			j := i * (n - 1) / (maxTheilSen - 1)
			tx, ty = append(tx, x[j]), append(ty, y[j])
		}
		x, y = tx, ty
	}
	var slopes []float64
	for i := range x {
		for j := i + 1; j < len(x); j++ {
			if dx := x[j] - x[i]; dx != 0 {
				slopes = append(slopes, (y[j]-y[i])/dx)
			}
		}
	}
	if len(slopes) == 0 {
		return 0
	}
	sort.Float64s(slopes)
	return median(slopes)
}

// ols fits y = a + b*x by least squares; ok is false when x does not vary.
func ols(x, y []float64) (a, b float64, ok bool) {
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

// median of sorted values.
func median(sorted []float64) float64 {
	n := len(sorted)
	if n == 0 {
		return math.NaN()
	}
	if n%2 == 1 {
		return sorted[n/2]
	}
	return (sorted[n/2-1] + sorted[n/2]) / 2
}
