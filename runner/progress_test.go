package runner

import (
	"strings"
	"testing"
)

// The live line marks a layer whose idle age passed its limit, so a leak
// does not look like a healthy run.
func TestStatusLineMarksLayerPastLimit(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		idle     int64
		want     string
		wantMark bool
	}{
		{"healthy", 5000, "backend=270(idle 5s)", false},
		{"leaking", 130000, "backend=270(idle 130s > limit 7.5s: NOT RECLAIMED)", true},
	} {
		s := Status{Phase: "quiet", Kind: "quiet", Established: map[string]int{"backend": 270},
			IdleMaxMs: map[string]int64{"backend": tc.idle}, IdleLimitMs: map[string]int64{"backend": 7500}}
		line := s.line()
		if !strings.Contains(line, tc.want) || strings.Contains(line, "NOT RECLAIMED") != tc.wantMark {
			t.Errorf("%s: line %q, want it to contain %q", tc.name, line, tc.want)
		}
	}
}
