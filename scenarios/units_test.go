package scenarios

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/goccy/go-yaml"
)

func TestParseDuration(t *testing.T) {
	for _, tc := range []struct {
		in      string
		want    time.Duration
		wantErr string
	}{
		{"250ms", 250 * time.Millisecond, ""},
		{"6s", 6 * time.Second, ""},
		{" 1h30m ", 90 * time.Minute, ""},
		{"0s", 0, ""},
		{"0", 0, ""}, // Go accepts a bare 0: no unit ambiguity
		{"10", 0, `"10" is not a duration (e.g. 10s, 250ms, 1h30m)`},
		{"5x", 0, `"5x" is not a duration`},
		{"", 0, `"" is not a duration`},
		{"-1s", 0, `"-1s" is negative`},
		{"99999999h", 0, "is not a duration"},
	} {
		got, err := ParseDuration(tc.in)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("ParseDuration(%q) = %v, %v; want error %q", tc.in, got, err, tc.wantErr)
			}
			continue
		}
		if err != nil || got.D() != tc.want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
			continue
		}
		// Round trip through String.
		if back, err := ParseDuration(got.String()); err != nil || back != got {
			t.Errorf("round trip of %q: %q -> %v, %v", tc.in, got.String(), back, err)
		}
	}
}

func TestParseRate(t *testing.T) {
	for _, tc := range []struct {
		in      string
		want    Rate
		str     string
		perSec  float64
		wantErr string
	}{
		{"200/s", Rate{200, time.Second}, "200/s", 200, ""},
		{"30/m", Rate{30, time.Minute}, "30/m", 0.5, ""},
		{"30/min", Rate{30, time.Minute}, "30/m", 0.5, ""},
		{"3600/h", Rate{3600, time.Hour}, "3600/1h0m0s", 1, ""},
		{"5/500ms", Rate{5, 500 * time.Millisecond}, "5/500ms", 10, ""},
		{"7", Rate{7, time.Second}, "7/s", 7, ""},
		{" 10 / second ", Rate{10, time.Second}, "10/s", 10, ""},
		{"0", Rate{0, time.Second}, "0/s", 0, ""},
		{"10/fortnight", Rate{}, "", 0, `"10/fortnight" is not a rate`},
		{"fast", Rate{}, "", 0, "is not a rate"},
		{"1.5/s", Rate{}, "", 0, "is not a rate"},
		{"5/0s", Rate{}, "", 0, "is not a rate"},
		{"5/-1s", Rate{}, "", 0, "is not a rate"},
		{"-5/s", Rate{}, "", 0, `"-5/s" is negative`},
		{"", Rate{}, "", 0, "is not a rate"},
	} {
		got, err := ParseRate(tc.in)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("ParseRate(%q) = %v, %v; want error %q", tc.in, got, err, tc.wantErr)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("ParseRate(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
			continue
		}
		if got.String() != tc.str || got.PerSecond() != tc.perSec {
			t.Errorf("ParseRate(%q): String %q PerSecond %g; want %q %g", tc.in, got.String(), got.PerSecond(), tc.str, tc.perSec)
		}
		if back, err := ParseRate(got.String()); err != nil || back != got {
			t.Errorf("round trip of %q: %q -> %v, %v", tc.in, got.String(), back, err)
		}
	}
	if got := (Rate{}).PerSecond(); got != 0 {
		t.Errorf("zero Rate PerSecond = %g", got)
	}
}

func TestParseByteSize(t *testing.T) {
	for _, tc := range []struct {
		in      string
		want    ByteSize
		str     string
		wantErr bool
	}{
		{"512", 512, "512", false},
		{"4KiB", 4096, "4KiB", false},
		{"4K", 4096, "4KiB", false},
		{"1MiB", 1 << 20, "1MiB", false},
		{"1.5GiB", 3 << 29, "1536MiB", false},
		{"64KB", 64000, "64000", false},
		{"2 MB", 2e6, "2000000", false},
		{"10B", 10, "10", false},
		{"1TiB", 1 << 40, "1024GiB", false},
		{"0", 0, "0", false},
		{"-1KiB", 0, "", true},
		{"lots", 0, "", true},
		{"KiB", 0, "", true},
		{"1e30", 0, "", true},
		{"NaN", 0, "", true},
	} {
		got, err := ParseByteSize(tc.in)
		if tc.wantErr {
			if err == nil {
				t.Errorf("ParseByteSize(%q) = %v, want an error", tc.in, got)
			}
			continue
		}
		if err != nil || got != tc.want || got.String() != tc.str {
			t.Errorf("ParseByteSize(%q) = %v (%q), %v; want %v (%q)", tc.in, int64(got), got.String(), err, int64(tc.want), tc.str)
			continue
		}
		if back, err := ParseByteSize(got.String()); err != nil || back != got {
			t.Errorf("round trip of %q: %q -> %v, %v", tc.in, got.String(), back, err)
		}
	}
}

// TestUnitsMarshal: run directories store the scenario as JSON and YAML, and
// both must read back as the same values.
func TestUnitsMarshal(t *testing.T) {
	b, err := json.Marshal(struct {
		D Duration
		R Rate
	}{Duration(1500 * time.Millisecond), Rate{30, time.Minute}})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(b), `{"D":"1.5s","R":"30/m"}`; got != want {
		t.Errorf("json = %s, want %s", got, want)
	}
	for _, tc := range []struct{ yaml, want string }{
		{`{d: "2s", r: 5, b: 1KiB}`, "2s 5/s 1KiB"},
		{`{d: 2s, r: "30/m", b: 512}`, "2s 30/m 512"},
		{`{d: '250ms', r: 7/1s, b: "2 MiB"}`, "250ms 7/s 2MiB"},
		{`{d: &x 3s, r: ~, b: null}`, "3s 0/0s 0"},
	} {
		var v struct {
			D Duration `yaml:"d"`
			R Rate     `yaml:"r"`
			B ByteSize `yaml:"b"`
		}
		if err := yaml.Unmarshal([]byte(tc.yaml), &v); err != nil {
			t.Errorf("yaml.Unmarshal(%s): %v", tc.yaml, err)
			continue
		}
		if got := v.D.String() + " " + v.R.String() + " " + v.B.String(); got != tc.want {
			t.Errorf("yaml.Unmarshal(%s) = %s, want %s", tc.yaml, got, tc.want)
		}
	}
	var v struct {
		D Duration `yaml:"d"`
	}
	if err := yaml.Unmarshal([]byte("d: [1s]"), &v); err == nil {
		t.Error("a list decoded as a duration")
	}
	out, err := yaml.Marshal(struct {
		D Duration
		R Rate
		B ByteSize
	}{Duration(time.Minute), Rate{3, time.Hour}, ByteSize(3 << 20)})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(out), "d: 1m0s\nr: 3/1h0m0s\nb: 3MiB\n"; got != want {
		t.Errorf("yaml.Marshal = %q, want %q", got, want)
	}
}
