package probes

import (
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/soak-dev/soak/record"
)

func TestParseGoroutines(t *testing.T) {
	t.Parallel()
	f, err := os.Open("testdata/goroutines.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	g, err := ParseGoroutines(f, 5)
	if err != nil {
		t.Fatal(err)
	}
	want := &record.Goroutines{
		Total:  12,
		Source: record.SourcePprof,
		ByClass: map[string]int{
			record.ClassServerConn:     4,
			record.ClassTransportRead:  2,
			record.ClassTransportWrite: 2,
			record.ClassFasthttpServer: 1,
			record.ClassOther:          3,
		},
		Top: []record.Stack{{Count: 2, Func: "main.leaky.func1"}, {Count: 1, Func: "runtime.gopark"}},
	}
	if !reflect.DeepEqual(g, want) {
		t.Errorf("got  %+v\nwant %+v", g, want)
	}
}

func TestParseGoroutinesBad(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ name, in, err string }{
		{"empty", "", "no \"goroutine profile"},
		{"html", "<html>hi</html>", "no \"goroutine profile"},
		{"bad total", "goroutine profile: total x\n", "bad goroutine total"},
		{"bad count", "goroutine profile: total 1\nx @ 0x1\n", "bad stack count"},
		{"negative", "goroutine profile: total 1\n-1 @ 0x1\n", "bad stack count"},
		{"frame first", "goroutine profile: total 1\n#\t0x1\tf+0x1\tf.go:1\n", "frame outside"},
		{"junk line", "goroutine profile: total 1\n1 @ 0x1\nzzz\n", "unexpected line"},
		{"truncated", "goroutine profile: total 5\n1 @ 0x1\n#\t0x1\tf+0x1\tf.go:1\n", "header says 5"},
		{"debug=2", "goroutine 1 [running]:\nmain.main()\n", "no \"goroutine profile"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseGoroutines(strings.NewReader(tc.in), 3)
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("err = %v, want one containing %q", err, tc.err)
			}
		})
	}
}

func TestParseGoGoroutines(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   string
		want int
		ok   bool
	}{
		{"# HELP go_goroutines n\n# TYPE go_goroutines gauge\ngo_goroutines 17\n", 17, true},
		{"go_goroutines_total 3\ngo_goroutines{job=\"a\"} 9 1700000000\n", 9, true},
		{"go_goroutines 1e3\n", 1000, true},
		{"go_goroutines NaN\n", 0, false},
		{"go_goroutines -1\n", 0, false},
		{"go_goroutines\n", 0, false},
		{"go_goroutines{ 5\n", 0, false},
		{"process_open_fds 3\n", 0, false},
		{"\x00\xff\xfe", 0, false},
	} {
		got, err := ParseGoGoroutines(strings.NewReader(tc.in))
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("%q: got %d, %v; want %d, ok=%v", tc.in, got, err, tc.want, tc.ok)
		}
	}
}
