package probes

import (
	"math"
	"strings"
	"testing"

	"github.com/soak-dev/soak/internal/seriestest"
	"github.com/soak-dev/soak/record"
)

// TestTickPut: a source's registered series lands in the sample's Values
// under its name; a value samples.jsonl cannot carry is the source's error,
// not a line the writer would refuse.
func TestTickPut(t *testing.T) {
	for _, tc := range []struct {
		v      float64
		stored bool
	}{{7, true}, {0, true}, {math.NaN(), false}, {math.Inf(1), false}, {math.Inf(-1), false}} {
		tk := &tick{out: &record.Sample{}}
		tk.put("ticker", seriestest.Ticks, tc.v)
		got, ok := tk.out.Values[seriestest.Ticks.Name]
		if ok != tc.stored || (ok && got != tc.v) {
			t.Errorf("put %v: values %v; want stored %v", tc.v, tk.out.Values, tc.stored)
		}
		if failed := len(tk.out.Errors) == 1 && strings.HasPrefix(tk.out.Errors[0], "ticker: test.ticks is "); failed == tc.stored {
			t.Errorf("put %v: errors %q", tc.v, tk.out.Errors)
		}
	}
}
