package scenarios

import (
	"math"
	"testing"
)

// FuzzUnits feeds the same text to the three unit parsers: none panics,
// what parses is in range, and what String prints parses back to the same
// value (so --set and re-serialized files keep their meaning).
func FuzzUnits(f *testing.F) {
	for _, s := range []string{"250ms", "6s", "1h30m", "10", "-1s", "", " 4s ", "200/s", "30/m", "5/1s", "0", "1000000/1ns",
		"1/0s", "-3/s", "9223372036854775807/s", "4KiB", "1.5GiB", "NaN", "Inf", "1e30TB", "512", "0x10", "2562047h47m16.854775807s",
		"100000h", "1/h"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if d, err := ParseDuration(s); err == nil {
			if d < 0 {
				t.Fatalf("ParseDuration(%q) = %v, negative", s, d)
			}
			if back, err := ParseDuration(d.String()); err != nil || back != d {
				t.Fatalf("duration %q -> %v -> %v, %v", s, d, back, err)
			}
		}
		if r, err := ParseRate(s); err == nil {
			if r.Freq < 0 || r.Per <= 0 {
				t.Fatalf("ParseRate(%q) = %+v", s, r)
			}
			if ps := r.PerSecond(); math.IsNaN(ps) || math.IsInf(ps, 0) || ps < 0 {
				t.Fatalf("ParseRate(%q).PerSecond() = %v", s, ps)
			}
			if back, err := ParseRate(r.String()); err != nil || back.PerSecond() != r.PerSecond() {
				t.Fatalf("rate %q -> %v -> %v, %v", s, r, back, err)
			}
		}
		if b, err := ParseByteSize(s); err == nil {
			if b < 0 {
				t.Fatalf("ParseByteSize(%q) = %d", s, b)
			}
			if back, err := ParseByteSize(b.String()); err != nil || back != b {
				t.Fatalf("size %q -> %v -> %v, %v", s, b, back, err)
			}
		}
	})
}
