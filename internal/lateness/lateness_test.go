package lateness

import (
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/soak-dev/soak/record"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestFigures drives the meter with a fake clock: each wait advances it by
// the step plus a chosen lateness, so the figures are pure arithmetic.
func TestFigures(t *testing.T) {
	for _, tc := range []struct {
		name string
		late []time.Duration
		want record.TimerLateness
	}{
		{name: "none", want: record.TimerLateness{StepMs: 100}},
		{name: "on time", late: []time.Duration{0, 0, 0}, want: record.TimerLateness{StepMs: 100, Samples: 3}},
		{name: "an early wake-up counts as on time", late: []time.Duration{-time.Millisecond}, want: record.TimerLateness{StepMs: 100, Samples: 1}},
		// p50 is the 3rd smallest (3 ms) as its bucket's upper bound 3.072 ms;
		// p99 the largest, capped at the exact max.
		{name: "loaded", late: []time.Duration{0, 10 * time.Millisecond, 3 * time.Millisecond, 830 * time.Millisecond, 0},
			want: record.TimerLateness{StepMs: 100, Samples: 5, P50Ms: 3.1, P99Ms: 830, MaxMs: 830}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clock := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
			i := 0
			m := newMeter(100*time.Millisecond, func() time.Time { return clock }, nil)
			m.wait = func(d time.Duration) bool {
				if i == len(tc.late) {
					return false
				}
				clock = clock.Add(d + tc.late[i])
				i++
				return true
			}
			go m.loop()
			if got := m.Stop(); got != tc.want {
				t.Errorf("figures %+v, want %+v", got, tc.want)
			}
		})
	}
}

// TestStartStop: the real meter's goroutine ends with Stop (goleak checks),
// a second Stop returns the same figures, and none is negative. No timing
// is asserted: the machine may be loaded.
func TestStartStop(t *testing.T) {
	m := Start(time.Millisecond)
	time.Sleep(5 * time.Millisecond)
	a := m.Stop()
	if b := m.Stop(); a != b {
		t.Errorf("second Stop %+v, first %+v", b, a)
	}
	if a.StepMs != 1 || a.MaxMs < 0 || a.P50Ms > a.MaxMs || a.P99Ms > a.MaxMs {
		t.Errorf("figures %+v", a)
	}
}

func TestMax(t *testing.T) {
	for _, tc := range []struct {
		t    *record.TimerLateness
		want time.Duration
	}{
		{nil, 0},
		{&record.TimerLateness{MaxMs: 829.6}, 830 * time.Millisecond},
		{&record.TimerLateness{MaxMs: -5}, 0},
		{&record.TimerLateness{MaxMs: 1e300}, 24 * time.Hour}, // meta.json is untrusted
	} {
		if got := tc.t.Max(); got != tc.want {
			t.Errorf("%+v: Max %s, want %s", tc.t, got, tc.want)
		}
	}
}
