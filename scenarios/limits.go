package scenarios

import "time"

// Bounds on scenario values. Each is far beyond a real soak and exists so
// that a typo or a hostile file fails validation, naming the field, instead
// of overflowing (a planned "-1s"), spinning, or exhausting the machine.
const (
	// MaxDuration bounds every duration field and MaxPlanned the whole
	// planned run, cycles and repeats included: 30 days.
	MaxDuration = Duration(30 * 24 * time.Hour)
	MaxPlanned  = 30 * 24 * time.Hour
	// MaxInterval bounds the sampling interval: checks need many samples.
	MaxInterval = Duration(10 * time.Minute)
	// MaxRatePerSecond bounds every request rate (one machine's load
	// generator does well under a million requests a second).
	MaxRatePerSecond = 1_000_000
	// MaxConnections bounds connections and workers of a phase (each is a
	// file descriptor or a goroutine on both sides).
	MaxConnections = 100_000
	// MaxCount bounds counts of things done in turn: cycles, repeats,
	// bursts, ramp steps, requests per burst.
	MaxCount = 10_000_000
)

// satMulDur returns n*d, or a duration past MaxPlanned when it would overflow.
func satMulDur(n int, d time.Duration) time.Duration {
	if n <= 0 || d <= 0 {
		return 0
	}
	if d > time.Duration(1<<62)/time.Duration(n) {
		return 1 << 62
	}
	return time.Duration(n) * d
}
