package scenarios

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden files (testdata/errors/*.golden, scenario.schema.json)")

// TestParseErrorsGolden parses every testdata/errors/*.yaml and compares the
// full error text with NAME.golden, so a change in any message, position or
// ordering shows up in review. Run with -update to rewrite the goldens.
func TestParseErrorsGolden(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "errors", "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 20 {
		t.Fatalf("found %d error files, want the whole set", len(files))
	}
	for _, path := range files {
		name := strings.TrimSuffix(filepath.Base(path), ".yaml")
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			sc, err := ParseScenario(filepath.Base(path), data)
			if err == nil {
				t.Fatalf("parsed without error: %+v", sc)
			}
			if sc != nil {
				t.Error("returned a scenario along with the error")
			}
			var es Errors
			if !errors.As(err, &es) {
				t.Fatalf("error is %T, want Errors: %v", err, err)
			}
			for i, e := range es {
				if e.File != filepath.Base(path) {
					t.Errorf("error %d has file %q", i, e.File)
				}
				if i > 0 && (es[i-1].Line > e.Line || es[i-1].Line == e.Line && es[i-1].Col > e.Col) {
					t.Errorf("error %d (%d:%d) is before error %d (%d:%d): not in file order", i, e.Line, e.Col, i-1, es[i-1].Line, es[i-1].Col)
				}
			}
			golden := strings.TrimSuffix(path, ".yaml") + ".golden"
			got := err.Error() + "\n"
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if got != string(want) {
				t.Errorf("errors differ from %s (go test -update rewrites it)\ngot:\n%s\nwant:\n%s", golden, got, want)
			}
		})
	}
}
