package scenarios

import (
	"runtime"
	"strings"
	"testing"
)

// TestTemplateBounds: issue 21's printf bomb made validate allocate GBs.
// Parsing a smaller one (64 MB before the fix) now allocates little and
// fails with the bound named; rendering past the output cap fails too.
func TestTemplateBounds(t *testing.T) {
	bomb := `name: bomb
target: "GET http://{{.Nodes.a.Addr}}/"
nodes:
  a:
    command: [srv]
    env: {X: '{{$a := printf "%999999d" 1}}{{$b := printf "%s%s%s%s%s%s%s%s" $a $a $a $a $a $a $a $a}}{{$c := printf "%s%s%s%s%s%s%s%s" $b $b $b $b $b $b $b $b}}{{$c}}'}
phases: [{name: a, steady: {rate: 1/s, duration: 1s}}]
`
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err := ParseScenario("bomb.yaml", []byte(bomb))
	runtime.ReadMemStats(&after)
	if err == nil || !strings.Contains(err.Error(), "a template renders at most 1048576") {
		t.Errorf("bomb: error %v, want the output bound", err)
	}
	if got := after.TotalAlloc - before.TotalAlloc; got > 32<<20 {
		t.Errorf("bomb: validate allocated %d MB", got>>20)
	}

	for _, tc := range []struct{ tmpl, want string }{
		{`{{printf "%999999d" 1}}{{printf "%999999d" 1}}`, "output over 1048576 bytes"},
		{`{{$a := printf "%99999d" 1}}{{$b := print $a $a $a $a $a $a $a $a $a $a}}{{$c := print $b $b $b $b $b $b $b $b $b $b $b}}`, "result could reach"},
		{`{{$a := printf "%900000d" 1}}` + strings.Repeat(`{{$b := print $a}}`, 20), "may build at most"},
		{`{{js (printf "%500000d" 1)}}`, "result could reach"},
	} {
		tm, err := Parse("t", tc.tmpl, nil)
		if err != nil {
			t.Fatalf("%s: %v", tc.tmpl, err)
		}
		out, err := Execute(tm, nil)
		if err == nil || !strings.Contains(err.Error(), tc.want) || len(err.Error()) > 400 {
			t.Errorf("%.60s: %d bytes, error %v, want %q", tc.tmpl, len(out), err, tc.want)
		}
	}
	// Within the bounds, the builtins behave as text/template's own.
	if got, err := Render("t", `{{printf "%05d|%q|%[1]x" 42 "a"}} {{html "<a&b>"}} {{js "'"}} {{urlquery "a b"}} {{print 1 2 "x"}} {{println "y"}}`, nil, nil); err != nil ||
		got != `00042|"a"|2a &lt;a&amp;b&gt; \' a+b 1 2x y`+"\n" {
		t.Errorf("render = %q, %v", got, err)
	}
}
