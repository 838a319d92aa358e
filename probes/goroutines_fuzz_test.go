package probes

import (
	"os"
	"strings"
	"testing"
)

// FuzzParseGoroutines: no input panics, and a parsed profile adds up.
// The seeds run in plain `go test`.
func FuzzParseGoroutines(f *testing.F) {
	seed, err := os.ReadFile("testdata/goroutines.txt")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(string(seed))
	f.Add("goroutine profile: total 0\n")
	f.Add("goroutine profile: total 1\n1 @ 0x1\n#\t0x1\n")
	f.Add("goroutine profile: total 2\n2 @\n# labels: {}\n#\t\t\t\n")
	f.Add("goroutine profile: total 99999999999999999999\n")
	f.Fuzz(func(t *testing.T, in string) {
		g, err := ParseGoroutines(strings.NewReader(in), 3)
		if err != nil {
			return
		}
		sum := 0
		for _, n := range g.ByClass {
			sum += n
		}
		if sum != g.Total {
			t.Errorf("classes add up to %d, total %d", sum, g.Total)
		}
		if len(g.Top) > 3 {
			t.Errorf("top has %d stacks, want at most 3", len(g.Top))
		}
	})
}

// FuzzParseGoGoroutines: no input panics, and values are never negative.
func FuzzParseGoGoroutines(f *testing.F) {
	f.Add("go_goroutines 17\n")
	f.Add("go_goroutines{a=\"}\"} 3\n")
	f.Add("go_goroutines +Inf\n")
	f.Fuzz(func(t *testing.T, in string) {
		if n, err := ParseGoGoroutines(strings.NewReader(in)); err == nil && n < 0 {
			t.Errorf("negative count %d", n)
		}
	})
}
