package reports

import (
	"strings"
	"testing"
	"time"

	"github.com/soak-dev/soak/record"
)

func TestLoadTable(t *testing.T) {
	t.Parallel()
	at := synthStart
	prs := []record.PhaseResult{
		// Out of order on purpose: rows follow the phases' start.
		{Phase: "rest", Kind: "quiet", Start: at.Add(20 * time.Second), End: at.Add(30 * time.Second)},
		{Phase: "warm", Kind: "steady", Start: at, End: at.Add(10 * time.Second), Requests: 10050, PlannedRequests: 10000,
			Success: 0.99996, LatencyP50: 2.25, LatencyP99: 12345.6, LatencyMax: 20000, Errors: map[string]int{"reset": 1}},
	}
	got := loadTable(prs)
	for _, want := range []string{"no requests", "99.99%", "10050", "10000", "1005.0", "12345.6", "reset 1"} {
		if !strings.Contains(got, want) {
			t.Errorf("load table lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "e+") || strings.Contains(got, "0.00%") || strings.Contains(got, "100.00%") {
		t.Errorf("load table has an exponent, a 0%% success for a quiet phase or a rounded-up success:\n%s", got)
	}
	lines := strings.Split(strings.TrimSpace(got), "\n")
	if len(lines) != 4 || !strings.Contains(lines[1], "warm") || !strings.Contains(lines[2], "rest") || !strings.Contains(lines[3], "all") {
		t.Errorf("rows: header, warm, rest, all; got:\n%s", got)
	}
}

func TestPlainNum(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		v    float64
		want string
	}{{10050, "10050"}, {1.005e4 + 0.4, "10050"}, {4.016, "4.016"}, {0.00123, "0.00123"}, {-1137, "-1137"}, {717065.3, "717065"}, {0, "0"}, {1e-7, "0.0000001"}} {
		if got := plainNum(tc.v); got != tc.want {
			t.Errorf("plainNum(%v) = %q, want %q", tc.v, got, tc.want)
		}
	}
}

func TestPageTimes(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		span  time.Duration
		at    time.Duration
		slope float64 // per hour
		since string
		trend string
	}{
		{80 * time.Second, 50300 * time.Millisecond, -1543, "+50.3 s (10:00:50)", "-34.3 goroutines over 1m20s"},
		{30 * time.Second, 10 * time.Second, 100, "+10 s (10:00:10)", "run too short for a trend"},
		{20 * time.Minute, 90 * time.Second, 60, "+1.5 min (10:01:30)", "+20 goroutines over 20m0s"},
		{5 * time.Hour, 3 * time.Hour, 12.34, "+3 h (13:00:00)", "+12.3 goroutines per hour"},
	} {
		pg := reportPage{Meta: record.Meta{Start: synthStart, End: synthStart.Add(tc.span)}}
		if got := pg.Since(synthStart.Add(tc.at)); got != tc.since {
			t.Errorf("span %v: Since = %q, want %q", tc.span, got, tc.since)
		}
		if got := pg.Slope(tc.slope); got != tc.trend {
			t.Errorf("span %v: Slope = %q, want %q", tc.span, got, tc.trend)
		}
	}
}
