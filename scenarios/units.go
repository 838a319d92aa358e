package scenarios

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/goccy/go-yaml/ast"
)

// Duration is a time.Duration written as Go writes it ("250ms", "6s",
// "1h30m"). A bare number is refused: "10" could mean seconds or ms.
type Duration time.Duration

// D returns the duration as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

func (d Duration) String() string { return time.Duration(d).String() }

// ParseDuration parses s as a scenario duration.
func ParseDuration(s string) (Duration, error) {
	v, err := time.ParseDuration(strings.TrimSpace(s))
	if err != nil {
		return 0, fmt.Errorf("%q is not a duration (e.g. 10s, 250ms, 1h30m)", s)
	}
	if v < 0 {
		return 0, fmt.Errorf("%q is negative", s)
	}
	if Duration(v) > MaxDuration {
		return 0, fmt.Errorf("%q is longer than 720h (30 days), the longest a scenario may plan", s)
	}
	return Duration(v), nil
}

// UnmarshalYAML implements yaml.NodeUnmarshaler. (Not BytesUnmarshaler:
// go-yaml re-formats the whole file for each such value, which made parsing
// quadratic in the file size.)
func (d *Duration) UnmarshalYAML(n ast.Node) error {
	s, ok, err := nodeText(n)
	if !ok || err != nil {
		return err
	}
	v, err := ParseDuration(s)
	if err != nil {
		return err
	}
	*d = v
	return nil
}

// MarshalYAML implements yaml.InterfaceMarshaler.
func (d Duration) MarshalYAML() (any, error) { return d.String(), nil }

// MarshalJSON writes the duration as a string.
func (d Duration) MarshalJSON() ([]byte, error) { return []byte(strconv.Quote(d.String())), nil }

// Rate is a request rate: "200/s", "30/m", "5/1s", or a bare number per second.
type Rate struct {
	Freq int
	Per  time.Duration
}

// PerSecond returns the rate in requests per second.
func (r Rate) PerSecond() float64 {
	if r.Per <= 0 {
		return 0
	}
	return float64(r.Freq) / r.Per.Seconds()
}

func (r Rate) String() string {
	switch r.Per {
	case time.Second:
		return fmt.Sprintf("%d/s", r.Freq)
	case time.Minute:
		return fmt.Sprintf("%d/m", r.Freq)
	}
	return fmt.Sprintf("%d/%s", r.Freq, r.Per)
}

// ParseRate parses s as a rate.
func ParseRate(s string) (Rate, error) {
	s = strings.TrimSpace(s)
	bad := fmt.Errorf("%q is not a rate (e.g. 200/s, 30/m, 0 for as fast as possible)", s)
	num, per, found := strings.Cut(s, "/")
	freq, err := strconv.Atoi(strings.TrimSpace(num))
	if err != nil {
		return Rate{}, bad
	}
	if freq < 0 {
		return Rate{}, fmt.Errorf("%q is negative", s)
	}
	r := Rate{Freq: freq, Per: time.Second}
	// A bare number is per second, and is bounded like the rest.
	switch per = strings.TrimSpace(per); {
	case !found:
	case per == "s", per == "sec", per == "second":
		r.Per = time.Second
	case per == "m", per == "min", per == "minute":
		r.Per = time.Minute
	case per == "h", per == "hour":
		r.Per = time.Hour
	default:
		d, err := time.ParseDuration(per)
		if err != nil || d <= 0 {
			return Rate{}, bad
		}
		r.Per = d
	}
	if ps := r.PerSecond(); ps > MaxRatePerSecond {
		return Rate{}, fmt.Errorf("%q is %.3g requests a second; at most %d/s", s, ps, MaxRatePerSecond)
	}
	return r, nil
}

// UnmarshalYAML implements yaml.NodeUnmarshaler.
func (r *Rate) UnmarshalYAML(n ast.Node) error {
	s, ok, err := nodeText(n)
	if !ok || err != nil {
		return err
	}
	v, err := ParseRate(s)
	if err != nil {
		return err
	}
	*r = v
	return nil
}

// MarshalYAML implements yaml.InterfaceMarshaler.
func (r Rate) MarshalYAML() (any, error) { return r.String(), nil }

// MarshalJSON writes the rate as a string.
func (r Rate) MarshalJSON() ([]byte, error) { return []byte(strconv.Quote(r.String())), nil }

// ByteSize is a size in bytes: "4KiB", "1MiB", "64KB", "512", "1.5GiB".
type ByteSize int64

var byteUnits = []struct {
	suffix string
	mult   float64
}{
	{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"TiB", 1 << 40},
	{"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"TB", 1e12},
	{"K", 1 << 10}, {"M", 1 << 20}, {"G", 1 << 30}, {"B", 1},
}

// ParseByteSize parses s as a byte size.
func ParseByteSize(s string) (ByteSize, error) {
	t := strings.TrimSpace(s)
	mult := 1.0
	for _, u := range byteUnits {
		if strings.HasSuffix(t, u.suffix) {
			t, mult = strings.TrimSpace(strings.TrimSuffix(t, u.suffix)), u.mult
			break
		}
	}
	f, err := strconv.ParseFloat(t, 64)
	if err != nil || !(f >= 0) || f*mult > 1<<62 { // !(f >= 0) also refuses NaN
		return 0, fmt.Errorf("%q is not a size (e.g. 4KiB, 1MiB, 512)", s)
	}
	return ByteSize(f * mult), nil
}

// UnmarshalYAML implements yaml.NodeUnmarshaler.
func (b *ByteSize) UnmarshalYAML(n ast.Node) error {
	s, ok, err := nodeText(n)
	if !ok || err != nil {
		return err
	}
	v, err := ParseByteSize(s)
	if err != nil {
		return err
	}
	*b = v
	return nil
}

func (b ByteSize) String() string {
	switch {
	case b >= 1<<30 && b%(1<<30) == 0:
		return fmt.Sprintf("%dGiB", b>>30)
	case b >= 1<<20 && b%(1<<20) == 0:
		return fmt.Sprintf("%dMiB", b>>20)
	case b >= 1<<10 && b%(1<<10) == 0:
		return fmt.Sprintf("%dKiB", b>>10)
	}
	return strconv.FormatInt(int64(b), 10)
}

// MarshalYAML implements yaml.InterfaceMarshaler.
func (b ByteSize) MarshalYAML() (any, error) { return b.String(), nil }

// nodeText returns the text of a scalar node; ok is false for null (the
// zero value stays, as for any omitted field).
func nodeText(n ast.Node) (s string, ok bool, err error) {
	n = unwrap(n)
	if _, null := n.(*ast.NullNode); null || n == nil {
		return "", false, nil
	}
	if s, ok := scalarText(n); ok {
		return s, true, nil
	}
	return "", false, fmt.Errorf("must be a single value, not %s", describe(n))
}

// scalarChecker is implemented by scalar types whose text the schema walk
// checks before decoding, so every bad value of a file is reported at once.
type scalarChecker interface{ checkScalar(string) error }

func (*Duration) checkScalar(s string) error { _, err := ParseDuration(s); return err }
func (*Rate) checkScalar(s string) error     { _, err := ParseRate(s); return err }
func (*ByteSize) checkScalar(s string) error { _, err := ParseByteSize(s); return err }
