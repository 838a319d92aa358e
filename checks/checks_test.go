package checks

import (
	"os"
	"strings"
	"testing"

	"github.com/soak-dev/soak/record"
	"github.com/soak-dev/soak/scenarios"
)

func TestDefaults(t *testing.T) {
	sc, err := scenarios.ParseScenario("quick.yaml", []byte(`
name: quick
nodes:
  proxy: {command: [sut]}
  target: {command: [sut]}
layers:
  client: {node: proxy, listen: proxy, idle_timeout: 2s}
  backend: {node: target, peer: target, idle_timeout: 3s}
phases:
  - {name: warm, repeat: 3, steady: {rate: 10/s, duration: 2s}}
  - {name: rest, quiet: {duration: 5s}}
`))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range Defaults(sc) {
		switch {
		case e.Reclaim != nil:
			got = append(got, "reclaim "+e.Reclaim.Layer)
		case e.Drain != nil:
			got = append(got, "drain "+e.Drain.Layer+" after "+e.Drain.After)
		case e.CloseWait != nil:
			got = append(got, "close_wait "+e.CloseWait.Layer+" "+e.CloseWait.MaxAge.String())
		case e.NoGrowth != nil:
			got = append(got, "no_growth "+e.NoGrowth.Series+" "+e.NoGrowth.Node+" "+strings.Join(e.NoGrowth.During, ","))
		}
	}
	want := []string{
		"reclaim backend", "drain backend after rest", "close_wait backend 4s",
		"reclaim client", "drain client after rest", "close_wait client 3s",
		"no_growth goroutines proxy warm", "no_growth fds proxy warm",
		"no_growth goroutines target warm", "no_growth fds target warm",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("Defaults =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if Defaults(nil) != nil {
		t.Error("Defaults(nil) should be nil")
	}
}

func TestVerdictStatus(t *testing.T) {
	reclaimBackend := &scenarios.Expectation{Reclaim: &scenarios.ReclaimCheck{Layer: "backend"}}
	reclaimIntra := &scenarios.Expectation{Reclaim: &scenarios.ReclaimCheck{Layer: "intra"}} // never seen
	for _, tc := range []struct {
		name   string
		idle   int64
		expect []*scenarios.Expectation
		opts   Options
		want   string
	}{
		{"all pass", 1000, []*scenarios.Expectation{reclaimBackend}, Options{}, record.StatusPass},
		{"fail wins", 9000, []*scenarios.Expectation{reclaimIntra, reclaimBackend}, Options{}, record.StatusFail},
		{"inconclusive", 1000, []*scenarios.Expectation{reclaimIntra, reclaimBackend}, Options{}, record.StatusInconclusive},
		{"inconclusive fails", 1000, []*scenarios.Expectation{reclaimIntra, reclaimBackend}, Options{InconclusiveFails: true}, record.StatusFail},
		{"nothing to check", 1000, []*scenarios.Expectation{}, Options{}, record.StatusInconclusive},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			f.sample("target", 1, func(s *record.Sample) { s.Sockets = layerSockets("backend", 1, tc.idle) })
			v, err := Evaluate(f.open(), &scenarios.Scenario{Name: "x", Expect: tc.expect}, tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			if v.Status != tc.want || v.RunEnded != record.EndedCompleted {
				t.Fatalf("status %s ended %s, want %s: %+v", v.Status, v.RunEnded, tc.want, v.Checks)
			}
		})
	}
}

func TestEvaluateBadInput(t *testing.T) {
	if _, err := Evaluate(nil, nil, Options{}); err == nil {
		t.Error("Evaluate(nil run) gave no error")
	}
	// A torn samples file and an expectation with no kind: data, not a panic.
	f := newFixture(t)
	f.sample("target", 1, func(s *record.Sample) { s.Sockets = layerSockets("backend", 1, 100) })
	r := f.open()
	fh, err := os.OpenFile(r.Path(record.SamplesFile), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	fh.WriteString(`{"t":"2026-01-02T12:00:0`)
	fh.Close()
	v, err := Evaluate(r, &scenarios.Scenario{Expect: []*scenarios.Expectation{{}, {Reclaim: &scenarios.ReclaimCheck{Layer: "backend"}}}}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(v.Checks) != 2 || v.Checks[0].Status != record.StatusInconclusive || v.Checks[1].Status != record.StatusPass {
		t.Errorf("checks %+v", v.Checks)
	}
}

// TestWrite: the verdict the checks make round-trips through verdict.json
// (its junit.xml and summary.md are reports' TestWriteVerdict).
func TestWrite(t *testing.T) {
	f := newFixture(t)
	f.sample("target", 1, func(s *record.Sample) { s.Sockets = layerSockets("backend", 1, 9000) })
	v := f.evaluate(
		&scenarios.Expectation{Reclaim: &scenarios.ReclaimCheck{Layer: "backend"}},
		&scenarios.Expectation{Reclaim: &scenarios.ReclaimCheck{Layer: "intra"}},
		&scenarios.Expectation{CloseWait: &scenarios.CloseWaitCheck{Layer: "backend", MaxAge: scenarios.Duration(1e9)}},
	)
	run := &record.Run{Dir: t.TempDir()}
	defer run.Close()
	if err := run.WriteVerdict(v); err != nil {
		t.Fatal(err)
	}
	back, err := run.Verdict()
	if err != nil || back == nil || back.Status != record.StatusFail || len(back.Checks) != 3 {
		t.Fatalf("verdict.json: %v %+v", err, back)
	}
}
