package reports

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/soak-dev/soak/record"
)

// day24 is a synthetic 24-hour run at 1 s sampling on three nodes.
func day24() synth {
	sy := defaultSynth()
	sy.nodes = []string{"proxy", "target-1", "target-2"}
	sy.layers = map[string]record.LayerMeta{
		"client":  {Node: "proxy", IdleTimeoutMs: 30000},
		"intra":   {Node: "proxy", Peer: "target-1", IdleTimeoutMs: 20000},
		"backend": {Node: "target-1", Peer: "s3", IdleTimeoutMs: 6000},
	}
	sy.phases = []synthPhase{
		{name: "warm", kind: "steady", dur: 30 * time.Minute, rate: 500},
		{name: "cycle", kind: "steady", dur: time.Hour, repeat: 23, rate: 500},
		{name: "rest", kind: "quiet", dur: 30 * time.Minute},
	}
	sy.conns = 200000
	return sy
}

// TestBuild24h builds the report of a synthetic 24-hour run (259,200
// samples, 200,000 connections) and logs the time and heap it took. Gated:
// SOAK_LONG=1. With SOAK_REPORTS_24H=DIR the run is kept in DIR (and
// reused), so `/usr/bin/time -v soak report DIR` can measure peak RSS.
func TestBuild24h(t *testing.T) {
	if os.Getenv("SOAK_LONG") == "" {
		t.Skip("set SOAK_LONG=1 to build the report of a synthetic 24-hour run")
	}
	dir := os.Getenv("SOAK_REPORTS_24H")
	if dir == "" {
		dir = filepath.Join(t.TempDir(), "day")
	}
	if _, err := os.Stat(filepath.Join(dir, record.MetaFile)); err != nil {
		start := time.Now()
		day24().write(t, dir)
		t.Logf("wrote the 24-hour run in %v", time.Since(start))
	}
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	start := time.Now()
	if _, err := Build(dir); err != nil {
		t.Fatal(err)
	}
	took := time.Since(start)
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	t.Logf("built the 24-hour report in %v; allocated %d MiB in total, heap now %d MiB, sys %d MiB",
		took, (after.TotalAlloc-before.TotalAlloc)>>20, after.HeapAlloc>>20, after.Sys>>20)
	s, err := ReadSummary(dir)
	if err != nil {
		t.Fatal(err)
	}
	if s.Nodes["proxy"].Samples != 86401 {
		t.Errorf("proxy samples = %d, want 86401", s.Nodes["proxy"].Samples)
	}
}
