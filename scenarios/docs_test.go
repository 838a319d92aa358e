package scenarios

import (
	"os"
	"reflect"
	"regexp"
	"strings"
	"testing"
)

var yamlBlock = regexp.MustCompile("(?s)```yaml\n(.*?)```")

// TestDocsExamples keeps docs/scenarios.md true: its annotated quick example
// must parse to the same scenario as the built-in, and the merge-key
// example must parse once completed with a name and nodes.
func TestDocsExamples(t *testing.T) {
	doc, err := os.ReadFile("../docs/scenarios.md")
	if err != nil {
		t.Skipf("docs not found: %v", err)
	}
	blocks := yamlBlock.FindAllStringSubmatch(string(doc), -1)
	var quick, merge string
	for _, b := range blocks {
		switch {
		case strings.HasPrefix(b[1], "name: quick"):
			quick = b[1]
		case strings.Contains(b[1], "<<: *sut"):
			merge = b[1]
		}
	}
	if quick == "" || merge == "" {
		t.Fatalf("docs/scenarios.md lacks the quick or the merge-key example (%d yaml blocks)", len(blocks))
	}
	got := mustParse(t, "docs/scenarios.md#quick", []byte(quick))
	data, _ := Builtin("quick")
	want := mustParse(t, "quick.yaml", data)
	if !reflect.DeepEqual(got, want) {
		t.Error("the annotated quick example in docs/scenarios.md differs from builtin/quick.yaml")
	}
	sc := mustParse(t, "docs/scenarios.md#merge", []byte("name: merge\n"+merge))
	if sc.Nodes["target2"].Engine != "fasthttp" || sc.Nodes["target2"].Command[1] != "testsut" ||
		sc.Phases[1].Steady.Rate.Freq != 200 || sc.Phases[1].Steady.Duration != sc.Phases[0].Steady.Duration {
		t.Errorf("merge-key example parsed wrongly: %+v %+v", sc.Nodes["target2"], sc.Phases[1].Steady)
	}
}
