package stats

import (
	"math"
	"slices"
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
		{"outlier ignored, 10 points", []float64{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, []float64{0, 2, 4, 6, 8, 10, 12, 14, 16, 1000}, 2},
		{"flat", []float64{0, 1, 2, 3}, []float64{5, 5, 5, 5}, 0},
		{"falling", []float64{0, 2, 4}, []float64{6, 4, 2}, -1},
		{"repeated x skipped", []float64{0, 0, 1}, []float64{0, 9, 2}, -2.5},
		// Slopes 1, 3, 2 in pair order: the median must sort them (2), not take the middle one (3).
		{"unsorted slopes", []float64{0, 1, 2}, []float64{0, 1, 4}, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := TheilSen(tc.x, tc.y); math.Abs(got-tc.want) > 1e-12 {
				t.Errorf("TheilSen = %v, want %v", got, tc.want)
			}
		})
	}
	for _, x := range [][]float64{nil, {1}, {2, 2}} {
		if got := TheilSen(x, make([]float64, len(x))); !math.IsNaN(got) {
			t.Errorf("TheilSen(%v) = %v, want NaN (no pair with distinct x)", x, got)
		}
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
			s, z, p := MannKendall(tc.y)
			if s != tc.s || math.Abs(z-tc.z) > 1e-5 || math.Abs(p-tc.p) > 1e-5 {
				t.Errorf("MannKendall = S %v Z %.6f p %.6g, want S %v Z %.6f p %.6g", s, z, p, tc.s, tc.z, tc.p)
			}
		})
	}
}

func TestQuantileAndMedian(t *testing.T) {
	for _, tc := range []struct {
		name string
		v    []float64
		q    float64
		want float64
	}{
		{"min", []float64{4, 1, 3, 2}, 0, 1},
		{"median even", []float64{4, 1, 3, 2}, 0.5, 2.5},
		{"max", []float64{4, 1, 3, 2}, 1, 4},
		{"p90", []float64{4, 1, 3, 2}, 0.9, 3.7},
		{"median odd unsorted", []float64{9, 1, 5}, 0.5, 5},
		{"median sorted", []float64{1, 2, 3, 10}, 0.5, 2.5},
		{"one", []float64{7}, 0.9, 7},
	} {
		in := slices.Clone(tc.v)
		if got := Quantile(tc.v, tc.q); math.Abs(got-tc.want) > 1e-12 {
			t.Errorf("%s: Quantile(%v, %v) = %v, want %v", tc.name, tc.v, tc.q, got, tc.want)
		}
		if !slices.Equal(in, tc.v) {
			t.Errorf("%s: Quantile reordered its input: %v", tc.name, tc.v)
		}
		if tc.q == 0.5 && Median(tc.v) != tc.want {
			t.Errorf("%s: Median(%v) = %v, want %v", tc.name, tc.v, Median(tc.v), tc.want)
		}
	}
	if !math.IsNaN(Median(nil)) {
		t.Error("Median(empty) is not NaN")
	}
}

func TestThin(t *testing.T) {
	x := make([]float64, 1000)
	for i := range x {
		x[i] = float64(i)
	}
	tx, ty := Thin(x, x, 300)
	if len(tx) != 300 || len(ty) != 300 || tx[0] != 0 || tx[299] != 999 {
		t.Errorf("Thin kept %d points from %v to %v", len(tx), tx[0], tx[len(tx)-1])
	}
	if sx, _ := Thin(x[:10], x[:10], 300); len(sx) != 10 {
		t.Errorf("Thin of a short input kept %d points", len(sx))
	}
}

func TestOLS(t *testing.T) {
	x := []float64{0, 1, 2, 3}
	if a, b, ok := OLS(x, []float64{1, 3, 5, 7}); !ok || a != 1 || b != 2 {
		t.Errorf("OLS = %v, %v, %v; want 1, 2, true", a, b, ok)
	}
	if _, _, ok := OLS([]float64{3, 3}, []float64{1, 2}); ok {
		t.Error("OLS with constant x is ok")
	}
}
