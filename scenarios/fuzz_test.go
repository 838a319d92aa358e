package scenarios

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzParseScenario feeds arbitrary bytes to ParseScenario: it must never
// panic, and must return either a scenario or an Errors whose every entry
// names the file, so the CLI can always print file:line:col.
func FuzzParseScenario(f *testing.F) {
	for _, name := range BuiltinNames() {
		data, _ := Builtin(name)
		f.Add(data)
	}
	files, _ := filepath.Glob(filepath.Join("testdata", "errors", "*.yaml"))
	more, _ := filepath.Glob(filepath.Join("testdata", "*.yaml"))
	for _, p := range append(files, more...) {
		data, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		sc, err := ParseScenario("fuzz.yaml", data)
		if err == nil {
			if sc == nil {
				t.Fatal("nil scenario and nil error")
			}
			return
		}
		if sc != nil {
			t.Fatalf("scenario and error both returned: %v", err)
		}
		var es Errors
		if !errors.As(err, &es) {
			t.Fatalf("error is %T, not Errors: %v", err, err)
		}
		if len(es) == 0 {
			t.Fatal("empty Errors")
		}
		for _, e := range es {
			if e == nil || e.File != "fuzz.yaml" {
				t.Fatalf("entry without file: %#v", e)
			}
			if e.Msg == "" {
				t.Fatalf("entry without message: %#v", e)
			}
			if strings.Contains(e.Msg, internalError) {
				t.Fatalf("decoder panic: %v", e)
			}
		}
	})
}

// FuzzOverride feeds arbitrary --set text to Override on the quick
// scenario: it must never panic, and what it returns must parse or fail
// with Errors (never a panic) in ParseScenario.
func FuzzOverride(f *testing.F) {
	for _, s := range []string{"layers.client.idle_timeout=6s", "phases[0].steady.rate=10/s", "vars.sut=/bin/x",
		"phases[3].quiet={duration: 3s}", "nodes.proxy.command[0]=a, b", "name=", "=", "[=1", "a..b=1", "phases[-1].name=x",
		"phases[*].name=x", "description=\"unterminated", "layers.client={}", "interval=&a 1s"} {
		f.Add(s)
	}
	data, _ := Builtin("quick")
	f.Fuzz(func(t *testing.T, set string) {
		out, err := Override("quick.yaml", data, []string{set})
		if err != nil {
			return
		}
		if _, err := ParseScenario("quick.yaml", out); err != nil {
			var es Errors
			if !errors.As(err, &es) {
				t.Fatalf("error is %T, not Errors: %v", err, err)
			}
		}
	})
}
