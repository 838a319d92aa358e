package suggest

import (
	"strings"
	"testing"
)

func TestDistance(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want int
	}{{"", "", 0}, {"abc", "", 3}, {"", "ab", 2}, {"kitten", "sitting", 3}, {"server_conn", "server-conn", 1}, {"same", "same", 0}, {"µs", "us", 1}} {
		if got := Distance(tc.a, tc.b); got != tc.want {
			t.Errorf("Distance(%q, %q) = %d, want %d", tc.a, tc.b, got, tc.want)
		}
	}
}

func TestClosest(t *testing.T) {
	cands := []string{"server-conn", "transport-read", "other"}
	if c, d := Closest("Server_Conn", cands, func(s string) string { return strings.ReplaceAll(strings.ToLower(s), "_", "-") }); c != "server-conn" || d != 0 {
		t.Errorf("Closest = %q, %d", c, d)
	}
	if c, d := Closest("x", nil, nil); c != "" || d != -1 {
		t.Errorf("Closest(no candidates) = %q, %d", c, d)
	}
}
