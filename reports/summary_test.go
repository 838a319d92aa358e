package reports

import (
	"testing"

	"github.com/soak-dev/soak/record"
)

func TestPhaseSuccess(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		pr   record.PhaseResult
		want float64
	}{
		{"measured", record.PhaseResult{Requests: 10, Success: 0.9}, 0.9},
		{"idle hold with codes", record.PhaseResult{Requests: 200, StatusCodes: map[string]int{"200": 150, "503": 50}}, 0.75},
		{"nothing sent", record.PhaseResult{}, 0},
		{"all failed, no codes", record.PhaseResult{Requests: 5}, 0},
	} {
		if got := phaseSuccess(tc.pr); got != tc.want {
			t.Errorf("%s: phaseSuccess = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestTheilSenAndOLS(t *testing.T) {
	t.Parallel()
	x := []float64{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}
	y := []float64{1, 3, 5, 7, 9, 11, 13, 15, 17, 1000} // one outlier
	if got := theilSen(x, y); got != 2 {
		t.Errorf("theilSen = %v, want 2 (outlier ignored)", got)
	}
	if _, b, ok := ols(x[:9], y[:9]); !ok || b != 2 {
		t.Errorf("ols slope = %v, %v; want 2", b, ok)
	}
	if _, _, ok := ols([]float64{3, 3}, []float64{1, 2}); ok {
		t.Error("ols fitted a slope on constant x")
	}
	if got := theilSen(nil, nil); got != 0 {
		t.Errorf("theilSen(empty) = %v", got)
	}
}
