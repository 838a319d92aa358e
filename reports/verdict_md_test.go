package reports

import (
	"encoding/xml"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/soak-dev/soak/record"
)

// TestWriteVerdict: junit.xml has a failure, a skipped (inconclusive) and a
// passed case; summary.md lists failures, then inconclusive, then passes.
func TestWriteVerdict(t *testing.T) {
	t.Parallel()
	v := record.Verdict{Status: record.StatusFail, Checks: []record.CheckResult{
		{Name: "reclaim/backend", Kind: "reclaim", Status: record.StatusFail, Message: "backend: a connection sat idle 9.0s (limit 2s)"},
		{Name: "reclaim/intra", Kind: "reclaim", Status: record.StatusInconclusive, Message: "intra: no socket of it was ever seen"},
		{Name: "close_wait/backend", Kind: "close_wait", Status: record.StatusPass, Message: "no CLOSE_WAIT"},
	}}
	dir := t.TempDir()
	run := &record.Run{Dir: dir}
	defer run.Close()
	if err := WriteVerdict(run, v); err != nil {
		t.Fatal(err)
	}
	var ju junitSuites
	b, err := os.ReadFile(filepath.Join(dir, record.JUnitFile))
	if err != nil {
		t.Fatal(err)
	}
	if err := xml.Unmarshal(b, &ju); err != nil {
		t.Fatal(err)
	}
	s := ju.Suites[0]
	if s.Tests != 3 || s.Failures != 1 || s.Skipped != 1 || s.Cases[0].Failure == nil || !strings.Contains(s.Cases[0].Failure.Message, "sat idle 9.0s") || s.Cases[1].Skipped == nil || s.Cases[2].Failure != nil {
		t.Errorf("junit: %s", b)
	}
	md, err := os.ReadFile(filepath.Join(dir, record.SummaryMD))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(md), "\n")
	if !strings.Contains(lines[0], "FAIL") || !strings.Contains(string(md), "| ❌ | reclaim/backend |") || strings.Index(string(md), "reclaim/intra") > strings.Index(string(md), "close_wait/backend") {
		t.Errorf("summary.md (failures, then inconclusive, then passes):\n%s", md)
	}
}

func TestLatenessMarkdown(t *testing.T) {
	for _, tc := range []struct {
		t    *record.TimerLateness
		want string
	}{
		{nil, "\ntimer lateness: not measured (a run recorded before soak measured it, or killed)\n"},
		{&record.TimerLateness{StepMs: 50, Samples: 1200, P50Ms: 1.2, P99Ms: 410, MaxMs: 830},
			"\ntimers were up to 830 ms late (p50 1.2 ms, p99 410 ms; 1200 wake-ups, one every 50 ms)\n"},
	} {
		if got := latenessMarkdown(tc.t); got != tc.want {
			t.Errorf("got %q, want %q", got, tc.want)
		}
	}
}
