package reports

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/soak-dev/soak/internal/seriestest"
	"github.com/soak-dev/soak/record"
)

func TestRegisteredSeriesReported(t *testing.T) {
	t.Parallel()
	dir := defaultSynth().write(t, filepath.Join(t.TempDir(), "run"))
	run, err := record.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	start := run.Meta.Start
	run.Close()
	// Appended as a later soak with the source would write them.
	w, err := os.OpenFile(filepath.Join(dir, record.SamplesFile), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range []float64{3, 9, 4} {
		line, err := json.Marshal(record.Sample{Time: start.Add(time.Duration(i+1) * time.Second), Node: "proxy",
			Values: map[string]float64{seriestest.Ticks.Name: v}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(append(line, '\n')); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := Build(dir); err != nil {
		t.Fatal(err)
	}
	s, err := Summarize(dir)
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]float64{"test.ticks.peak": 9, "test.ticks.end": 4, "nodes.proxy.test.ticks.peak": 9} {
		if got, ok := s.Figures[name]; !ok || got != want {
			t.Errorf("figure %s = %v (present %v), want %v", name, got, ok, want)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "plots", "series-test_ticks.svg")); err != nil {
		t.Errorf("no plot of the registered series: %v", err)
	}
}
