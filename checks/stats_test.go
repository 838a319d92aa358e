package checks

import (
	"math"
	"testing"
)

func TestTheilSen(t *testing.T) {
	for _, tc := range []struct {
		name string
		x, y []float64
		want float64
	}{
		{"line", []float64{0, 1, 2, 3}, []float64{1, 3, 5, 7}, 2},
		{"outlier ignored", []float64{0, 1, 2, 3, 4}, []float64{0, 1, 2, 3, 100}, 1},
		{"flat", []float64{0, 1, 2, 3}, []float64{5, 5, 5, 5}, 0},
		{"falling", []float64{0, 2, 4}, []float64{6, 4, 2}, -1},
		{"repeated x skipped", []float64{0, 0, 1}, []float64{0, 9, 2}, -2.5},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := theilSen(tc.x, tc.y); math.Abs(got-tc.want) > 1e-12 {
				t.Errorf("theilSen = %v, want %v", got, tc.want)
			}
		})
	}
	if got := theilSen(nil, nil); !math.IsNaN(got) {
		t.Errorf("theilSen(empty) = %v, want NaN", got)
	}
}

func TestMannKendall(t *testing.T) {
	// Expected values computed by hand from the textbook formulas (Hipel &
	// McLeod 1994): Var(S) = [n(n-1)(2n+5) - sum t(t-1)(2t+5)] / 18.
	for _, tc := range []struct {
		name    string
		y       []float64
		s, z, p float64
	}{
		// n=10 increasing: S=45, Var=125, Z=44/sqrt(125)=3.9355, p=4.15e-5.
		{"monotone 10", []float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, 45, 3.935479, 4.1524e-5},
		// ties: S=5, Var=(156-18)/18=7.6667, Z=4/2.7689=1.44463, p=0.074283.
		{"ties", []float64{1, 2, 2, 3}, 5, 1.444630, 0.074283},
		// decreasing n=5: S=-10, Var=16.6667, Z=-9/4.08248=-2.20454, p=0.98626.
		{"falling", []float64{5, 4, 3, 2, 1}, -10, -2.204541, 0.986255},
		{"all tied", []float64{3, 3, 3, 3}, 0, 0, 1},
		{"no trend", []float64{1, 3, 2, 3, 1, 2}, 0, 0, 0.5},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, z, p := mannKendall(tc.y)
			if s != tc.s || math.Abs(z-tc.z) > 1e-5 || math.Abs(p-tc.p) > 1e-5 {
				t.Errorf("mannKendall = S %v Z %.6f p %.6g, want S %v Z %.6f p %.6g", s, z, p, tc.s, tc.z, tc.p)
			}
		})
	}
}

func TestQuantile(t *testing.T) {
	v := []float64{4, 1, 3, 2}
	for _, tc := range []struct{ q, want float64 }{{0, 1}, {0.5, 2.5}, {1, 4}, {0.9, 3.7}} {
		if got := quantile(v, tc.q); math.Abs(got-tc.want) > 1e-12 {
			t.Errorf("quantile(%v) = %v, want %v", tc.q, got, tc.want)
		}
	}
}
