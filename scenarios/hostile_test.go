package scenarios

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestHostileYAML: issue 21's YAML findings. A mapping with many keys is
// refused before go-yaml's parser (quadratic in them) sees it; a UTF-8 BOM
// is skipped, not read as part of the first key.
func TestHostileYAML(t *testing.T) {
	var b strings.Builder
	b.WriteString("name: keys\nvars:\n")
	for i := 0; i < 5000; i++ {
		fmt.Fprintf(&b, "  k%d: v\n", i)
	}
	_, err := ParseScenario("keys.yaml", []byte(b.String()))
	if got, want := fmt.Sprint(err), "keys.yaml:1003:8: more than 1000 keys in one mapping; a scenario needs a few dozen (is this the right file?)"; got != want {
		t.Errorf("5000 keys:\n got %s\nwant %s", got, want)
	}
	// The same in flow style.
	flow := "name: keys\nvars: {"
	for i := 0; i < 1001; i++ {
		flow += fmt.Sprintf("k%d: v, ", i)
	}
	flow += "}\n"
	if _, err := ParseScenario("flow.yaml", []byte(flow)); err == nil || !strings.Contains(err.Error(), "more than 1000 keys") {
		t.Errorf("1001 flow keys: %v", err)
	}
	// Many keys over many mappings are fine (every node has its own).
	mustParse(t, "large.yaml", largeScenario(40, 400))

	// A 4 MiB file of keys is refused before it is lexed (it took 4 s and
	// 300 MB to lex; go-yaml's parser did not finish in 400 s).
	b.Reset()
	b.WriteString("name: keys\nvars:\n")
	for i := 0; b.Len() < MaxFileSize-20; i++ {
		fmt.Fprintf(&b, "  k%x: v\n", i)
	}
	if _, err := ParseScenario("big.yaml", []byte(b.String())); err == nil || !strings.Contains(err.Error(), "lines, keys and list items; a scenario has at most 200000") {
		t.Errorf("4 MiB of keys: %v", err)
	}

	bom := "\xef\xbb\xbfname: bom\nnodes: {a: {command: [srv]}}\nphases: [{name: q, quiet: {duration: 1s}}]\n"
	if sc := mustParse(t, "bom.yaml", []byte(bom)); sc.Name != "bom" {
		t.Errorf("name %q", sc.Name)
	}
}

// TestPlannedSaturates: the planned duration never wraps to a negative one.
func TestPlannedSaturates(t *testing.T) {
	sc := &Scenario{Cycles: 1 << 62, Phases: []*Phase{{Quiet: &Quiet{Duration: Duration(time.Hour)}},
		{Burst: &Burst{Bursts: 1 << 62, Pause: Duration(time.Hour)}, Repeat: 1 << 40}}}
	if got := sc.Planned(); got < MaxPlanned {
		t.Errorf("planned %v", got)
	}
}
