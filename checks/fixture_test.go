package checks

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/soak-dev/soak/record"
	"github.com/soak-dev/soak/scenarios"
)

// t0 is the start of every crafted run.
var t0 = time.Date(2026, 1, 2, 12, 0, 0, 0, time.UTC)

// fixture crafts a run directory through record's writer, as the runner
// would: two nodes (proxy, target), three layers and a fake s3 backend.
type fixture struct {
	t    *testing.T
	w    *record.Writer
	meta record.Meta
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	w, err := record.Create(filepath.Join(t.TempDir(), "run"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	return &fixture{t: t, w: w, meta: record.Meta{
		Name: "fixture", Start: t0, IntervalMs: 1000, Ended: record.EndedCompleted,
		Nodes:    map[string]record.NodeMeta{"proxy": {Engine: "net/http"}, "target": {Engine: "net/http"}},
		Backends: map[string]record.BackendMeta{"s3": {Kind: "s3"}},
		Layers: map[string]record.LayerMeta{
			"client":  {Node: "proxy", Listen: "proxy", IdleTimeoutMs: 2000},
			"intra":   {Node: "proxy", Peer: "target", IdleTimeoutMs: 2000},
			"backend": {Node: "target", Peer: "s3", IdleTimeoutMs: 2000},
		},
	}}
}

// at is the moment sec seconds into the run.
func at(sec float64) time.Time { return t0.Add(time.Duration(sec * float64(time.Second))) }

// phase records one run of a phase from..to seconds.
func (f *fixture) phase(name, base, kind string, from, to float64) {
	f.meta.Phases = append(f.meta.Phases, record.PhaseMeta{Name: name, Base: base, Kind: kind, Start: at(from), End: at(to)})
}

// sample records one sample of node at sec, filled by fill.
func (f *fixture) sample(node string, sec float64, fill func(*record.Sample)) {
	s := record.Sample{Time: at(sec), Node: node}
	fill(&s)
	if err := f.w.Sample(s); err != nil {
		f.t.Fatal(err)
	}
}

func (f *fixture) conn(c record.Conn) {
	if err := f.w.Conn(c); err != nil {
		f.t.Fatal(err)
	}
}

// open finishes the run and opens it for reading.
func (f *fixture) open() *record.Run {
	f.t.Helper()
	if f.meta.End.IsZero() {
		f.meta.End = at(3600)
	}
	if err := f.w.WriteMeta(f.meta); err != nil {
		f.t.Fatal(err)
	}
	if err := f.w.Close(); err != nil {
		f.t.Fatal(err)
	}
	r, err := record.Open(f.w.Dir())
	if err != nil {
		f.t.Fatal(err)
	}
	return r
}

// evaluate runs the expectations on the fixture and returns the checks.
func (f *fixture) evaluate(expect ...*scenarios.Expectation) record.Verdict {
	f.t.Helper()
	v, err := Evaluate(f.open(), &scenarios.Scenario{Name: "fixture", Expect: expect}, Options{})
	if err != nil {
		f.t.Fatal(err)
	}
	return v
}

// layerSockets makes a sample's socket part with one layer.
func layerSockets(layer string, established int, idleMaxMs int64) *record.Sockets {
	return &record.Sockets{Method: record.MethodNetlink, Layers: map[string]*record.LayerSockets{
		layer: {ByState: map[string]int{"ESTABLISHED": established}, Idle: &record.IdleStats{Max: idleMaxMs}},
	}}
}

func onlyCheck(t *testing.T, v record.Verdict) record.CheckResult {
	t.Helper()
	if len(v.Checks) != 1 {
		t.Fatalf("got %d checks, want 1: %+v", len(v.Checks), v.Checks)
	}
	return v.Checks[0]
}
