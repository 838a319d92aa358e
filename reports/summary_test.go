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

// TestSlopeOf: the report's goroutine slope ignores an outlier and is 0,
// not NaN (JSON has none), with nothing to fit.
func TestSlopeOf(t *testing.T) {
	t.Parallel()
	x := []float64{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}
	y := []float64{1, 3, 5, 7, 9, 11, 13, 15, 17, 1000} // one outlier
	if got := slopeOf(x, y); got != 2 {
		t.Errorf("slopeOf = %v, want 2 (outlier ignored)", got)
	}
	if got := slopeOf(nil, nil); got != 0 {
		t.Errorf("slopeOf(empty) = %v", got)
	}
}
