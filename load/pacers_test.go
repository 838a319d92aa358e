package load

import (
	"math"
	"testing"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"
)

func TestStepPacer(t *testing.T) {
	t.Parallel()
	p := StepPacer{From: vegeta.Rate{Freq: 10, Per: time.Second}, To: vegeta.Rate{Freq: 30, Per: time.Second}, Steps: 3, Duration: 3 * time.Second}
	for _, tt := range []struct {
		at         time.Duration
		rate, hits float64
	}{
		{0, 10, 0},
		{500 * time.Millisecond, 10, 5},
		{1500 * time.Millisecond, 20, 20},
		{2500 * time.Millisecond, 30, 45},
		{3 * time.Second, 30, 60},
	} {
		if got := p.Rate(tt.at); got != tt.rate {
			t.Errorf("Rate(%v) = %v, want %v", tt.at, got, tt.rate)
		}
		if got := p.hits(tt.at); math.Abs(got-tt.hits) > 1e-9 {
			t.Errorf("hits(%v) = %v, want %v", tt.at, got, tt.hits)
		}
	}
	// Behind schedule: send now. Ahead: wait about one interval.
	if wait, stop := p.Pace(time.Second, 0); wait != 0 || stop {
		t.Errorf("behind: wait %v stop %v", wait, stop)
	}
	if wait, _ := p.Pace(0, 0); wait < 90*time.Millisecond || wait > 110*time.Millisecond {
		t.Errorf("ahead: wait %v, want ~100ms", wait)
	}
	// A zero-rate step waits for the next step.
	z := StepPacer{From: vegeta.Rate{Freq: 0, Per: time.Second}, To: vegeta.Rate{Freq: 10, Per: time.Second}, Steps: 2, Duration: 2 * time.Second}
	if wait, _ := z.Pace(200*time.Millisecond, 0); wait != 800*time.Millisecond {
		t.Errorf("zero step: wait %v, want 800ms", wait)
	}
}

func TestCountPacerStops(t *testing.T) {
	t.Parallel()
	p := CountPacer{Count: 3}
	for hits, want := range []bool{false, false, false, true} {
		if _, stop := p.Pace(0, uint64(hits)); stop != want {
			t.Errorf("hits %d: stop %v, want %v", hits, stop, want)
		}
	}
}

func TestErrKind(t *testing.T) {
	t.Parallel()
	for msg, want := range map[string]string{
		`Get "http://127.0.0.1:1/": dial tcp 127.0.0.1:1: connect: connection refused`:                ErrRefused,
		`read tcp 127.0.0.1:1->127.0.0.1:2: read: connection reset by peer`:                           ErrReset,
		`Get "http://x/": context deadline exceeded (Client.Timeout exceeded while awaiting headers)`: ErrTimeout,
		`Get "http://x/": EOF`: ErrEOF,
		`Get "http://x/": net/http: HTTP/1.x transport connection broken: malformed HTTP response "garb"`: ErrBadResponse,
		`something else`: ErrOther,
	} {
		if got := errKind(msg); got != want {
			t.Errorf("errKind(%q) = %q, want %q", msg, got, want)
		}
	}
}
