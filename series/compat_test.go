package series

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/soak-dev/soak/record"
)

var update = flag.Bool("update", false, "rewrite testdata/run-v1/values.golden")

// TestOldSamplesRead: a samples.jsonl written before sources could add
// series (lines of a real quick run, and the fallbacks a run records:
// metrics and threads goroutines, /proc fds and sockets, a partial dump,
// failed probes, a gone process) still decodes to the same sample, field
// for field, and every series reads the same value from it as it did then
// (values.golden was written by the soak of that format).
func TestOldSamplesRead(t *testing.T) {
	dir := filepath.Join("testdata", "run-v1")
	run, err := record.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer run.Close()
	samples, err := run.Samples()
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(filepath.Join(dir, record.SamplesFile))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var lines []string
	for sc := bufio.NewScanner(f); sc.Scan(); {
		lines = append(lines, sc.Text())
	}
	if len(samples) != len(lines) || len(lines) == 0 {
		t.Fatalf("read %d samples from %d lines", len(samples), len(lines))
	}
	for i, s := range samples {
		again, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		var was, is any
		if err := json.Unmarshal([]byte(lines[i]), &was); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(again, &is); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(was, is) {
			t.Errorf("line %d does not read back the same:\n was %s\n is  %s", i+1, lines[i], again)
		}
	}

	var b strings.Builder
	for i, smp := range CompactAll(samples) {
		for _, name := range everyName(run.Meta.Layers) {
			n, err := Parse(name)
			if err != nil {
				t.Fatal(err)
			}
			if v, ok := n.Value(&smp); ok {
				fmt.Fprintf(&b, "%d %s %s=%g\n", i+1, samples[i].Node, name, v)
			} else {
				fmt.Fprintf(&b, "%d %s %s missing\n", i+1, samples[i].Node, name)
			}
		}
	}
	golden := filepath.Join(dir, "values.golden")
	if *update {
		if err := os.WriteFile(golden, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if got := b.String(); got != string(want) {
		t.Errorf("series values differ from %s (go test -update rewrites it):\n%s", golden, got)
	}
}

// everyName lists every built-in series name over the run's layers.
func everyName(layers map[string]record.LayerMeta) []string {
	names := []string{string(Goroutines), string(FDs), string(RSS), string(Threads)}
	for _, c := range Classes {
		names = append(names, string(Goroutines)+"."+c)
	}
	for _, ft := range FDTypes {
		names = append(names, string(FDs)+"."+ft)
	}
	ls := append([]string{AllLayers, Other}, slices.Sorted(maps.Keys(layers))...)
	for _, l := range ls {
		names = append(names, Socket(l, ""), Socket(l, Idle))
		for _, st := range States {
			names = append(names, Socket(l, st))
		}
	}
	return names
}
