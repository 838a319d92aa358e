package series

import (
	"errors"
	"strings"
	"testing"

	"github.com/soak-dev/soak/record"
)

// testTicks stands for a probe source's series, registered as its file would.
var testTicks = Register(Def{Name: "test.ticks", Unit: "ticks", Help: "a test source's ticks"})

func TestRegistered(t *testing.T) {
	n, err := Parse("test.ticks")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := n.Unit(), "ticks"; got != want {
		t.Errorf("unit %q, want %q", got, want)
	}
	ss := CompactAll([]record.Sample{
		{Values: map[string]float64{testTicks.Name: 42, "test.unregistered": 1}},
		{Values: map[string]float64{"test.other": 1}}, // has values, not this one
		{Process: &record.Process{RSS: 1}},            // a sample of an older soak
	})
	for i, want := range []struct {
		v  float64
		ok bool
	}{{42, true}, {0, false}, {0, false}} {
		if v, ok := n.Value(&ss[i]); v != want.v || ok != want.ok {
			t.Errorf("sample %d: %v, %v; want %v, %v", i, v, ok, want.v, want.ok)
		}
	}
	// A built-in series does not read a registered value, nor the reverse.
	if rss, _ := Parse("rss"); rss.reg != 0 {
		t.Errorf("rss parsed as registered series %d", rss.reg)
	}

	for _, tc := range []struct{ in, err, sugg string }{
		{"test.tick", "unknown test series (test.ticks)", "test.ticks"},
		{"test", "unknown test series", ""},
		{"tset.ticks", "not a series", "test.ticks"},
	} {
		_, err := Parse(tc.in)
		var se *Error
		if !errors.As(err, &se) || !strings.Contains(se.Why, tc.err) || se.Suggestion != tc.sugg {
			t.Errorf("Parse(%q) = %v; want %q, suggestion %q", tc.in, err, tc.err, tc.sugg)
		}
	}
	if _, err := Parse("nothing"); err == nil || !strings.Contains(err.Error(), "test.ticks") {
		t.Errorf("the grammar in errors does not list registered series: %v", err)
	}
}

func TestRegisterRefuses(t *testing.T) {
	for _, d := range []Def{
		{Name: "test.ticks", Unit: "ticks"},  // twice
		{Name: "rss.peak", Unit: "bytes"},    // a built-in kind
		{Name: "sockets.x.y", Unit: "conns"}, // a built-in kind
		{Name: "cpu", Unit: "s"},             // refused on purpose
		{Name: "Test.Ticks", Unit: "ticks"},  // case
		{Name: "test..ticks", Unit: "ticks"}, // empty part
		{Name: "test.new", Unit: ""},         // no unit
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("Register(%+v) did not panic", d)
				}
			}()
			Register(d)
		}()
	}
	if got := len(Registered()); got != 1 {
		t.Errorf("%d series registered after refusals, want 1", got)
	}
}
