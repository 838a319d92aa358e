package merge

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/soak-dev/soak/record"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var t0 = time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)

// fakeShard writes a shard run directory: meta, scenario, two samples of
// node a, a kernel and a client ledger line, one phase result.
type fakeShard struct {
	index, count int
	scenario     string
	pid          int
	requests     uint64
	conns        int
	log          string // node a's log path in meta.json
}

func (f fakeShard) write(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "run")
	w, err := record.Create(dir)
	if err != nil {
		t.Fatal(err)
	}
	off := time.Duration(f.index) * 10 * time.Millisecond
	for i := range 2 {
		if err := w.Sample(record.Sample{Time: t0.Add(time.Duration(i)*time.Second + off), Node: "a", PID: f.pid}); err != nil {
			t.Fatal(err)
		}
	}
	w.Conn(record.Conn{Witness: record.WitnessKernel, Source: "a", Opened: t0, Closed: t0.Add(time.Second + off), ClosedBy: "client"})
	for range f.conns {
		w.Conn(record.Conn{Witness: record.WitnessClient, Source: "hold", Opened: t0, Closed: t0.Add(time.Second + off), ClosedBy: "client"})
	}
	w.WriteFile([]byte(f.scenario), record.ScenarioFile)
	if f.log != "" {
		os.WriteFile(filepath.Join(dir, "logs", "a.log"), []byte("log of a\n"), 0o644)
	}
	m := record.Meta{Format: 1, Scenario: "s", Name: "s", Host: "h", Start: t0.Add(off), End: t0.Add(5*time.Second + off),
		Ended: record.EndedCompleted, IntervalMs: 1000, Shard: &record.ShardMeta{Index: f.index, Count: f.count},
		Nodes:  map[string]record.NodeMeta{"a": {PID: f.pid, Attached: true, Log: f.log}},
		Phases: []record.PhaseMeta{{Name: "hold", Base: "hold", Kind: "idle", Start: t0.Add(off), End: t0.Add(4*time.Second + off)}}}
	if err := w.WriteMeta(m); err != nil {
		t.Fatal(err)
	}
	if err := record.WritePhaseResult(dir, record.PhaseResult{Phase: "hold", Kind: "idle", Start: t0.Add(off), End: t0.Add(4*time.Second + off),
		Requests: f.requests, Success: 1, ConnsOpened: f.conns, ConnsClosedBy: map[string]int{"client": f.conns},
		Extra: map[string]float64{"reused_ok": float64(f.conns)}, StatusCodes: map[string]int{"200": int(f.requests)}}); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestMergeSums(t *testing.T) {
	t.Parallel()
	a := fakeShard{index: 1, count: 2, scenario: "name: s\n", pid: 7, requests: 4, conns: 4, log: "logs/a.log"}.write(t)
	b := fakeShard{index: 2, count: 2, scenario: "name: s\n", pid: 7, requests: 3, conns: 3}.write(t)
	out := filepath.Join(t.TempDir(), "m")
	meta, err := Runs([]string{b, a}, out) // any order
	if err != nil {
		t.Fatal(err)
	}
	r, err := record.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	prs, _ := r.PhaseResults()
	samples, _ := r.Samples()
	conns, _ := r.Conns()
	kernel, client := 0, 0
	for _, c := range conns {
		switch c.Witness {
		case record.WitnessKernel:
			kernel++
		case record.WitnessClient:
			client++
		}
	}
	if len(prs) != 1 || prs[0].Requests != 7 || prs[0].ConnsOpened != 7 || prs[0].ConnsClosedBy["client"] != 7 ||
		prs[0].Extra["reused_ok"] != 7 || prs[0].StatusCodes["200"] != 7 {
		t.Errorf("phase results: %+v", prs)
	}
	if len(samples) != 2 || kernel != 1 || client != 7 {
		t.Errorf("node a's samples %d (want 2, from shard 1 only), kernel ledger lines %d (want 1), client ledger lines %d (want 7)", len(samples), kernel, client)
	}
	if len(meta.Shards) != 2 || !meta.Start.Equal(t0.Add(10*time.Millisecond)) || !meta.End.Equal(t0.Add(5*time.Second+20*time.Millisecond)) ||
		!meta.Phases[0].End.Equal(t0.Add(4*time.Second+20*time.Millisecond)) {
		t.Errorf("meta: shards %+v, %s..%s, phases %+v", meta.Shards, meta.Start, meta.End, meta.Phases)
	}
	if b, err := r.ReadFile("logs", "a.log"); err != nil || string(b) != "log of a\n" || r.Meta.Nodes["a"].Log != "logs/a.log" {
		t.Errorf("node a's log: %q, %v, meta %q", b, err, r.Meta.Nodes["a"].Log)
	}
}

func TestMergeRefuses(t *testing.T) {
	t.Parallel()
	s1 := fakeShard{index: 1, count: 2, scenario: "name: s\n", pid: 7}
	s2 := s1
	s2.index = 2
	other := s2
	other.scenario = "name: s\nphases: []\n"
	separate := s2
	separate.pid = 8
	three := s2
	three.count = 3
	for _, tc := range []struct {
		name   string
		shards []fakeShard
		want   string
	}{
		{"other scenario", []fakeShard{s1, other}, "ran a different scenario than"},
		{"separate SUTs", []fakeShard{s1, separate}, "the shards ran separate SUTs"},
		{"counts differ", []fakeShard{s1, three}, "is shard 2/3"},
		{"missing", []fakeShard{s1}, "shard 2/2 missing"},
		{"twice", []fakeShard{s1, s1}, "shard 1/2 given twice"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var dirs []string
			for _, f := range tc.shards {
				dirs = append(dirs, f.write(t))
			}
			_, err := Runs(dirs, filepath.Join(t.TempDir(), "m"))
			if !errors.Is(err, ErrMismatch) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want %q (ErrMismatch)", err, tc.want)
			}
		})
	}
}

// TestMergeHostile: a meta.json that names a log outside its run, or a
// node whose name is a path, gets no log copied and nothing written
// outside the merged directory.
func TestMergeHostile(t *testing.T) {
	t.Parallel()
	secret := filepath.Join(t.TempDir(), "secret")
	os.WriteFile(secret, []byte("secret"), 0o600)
	a := fakeShard{index: 1, count: 1, scenario: "name: s\n", pid: 7, log: "../../../../../../../.." + secret}.write(t)
	out := filepath.Join(t.TempDir(), "m")
	if _, err := Runs([]string{a}, out); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(filepath.Join(out, "logs", "a.log")); err == nil {
		t.Errorf("a log outside the shard's run was copied: %q", b)
	}
}
