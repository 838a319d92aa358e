package checks

import (
	"strings"
	"testing"

	"github.com/soak-dev/soak/record"
	"github.com/soak-dev/soak/scenarios"
)

func TestDrain(t *testing.T) {
	for _, tc := range []struct {
		name      string
		before    int // established before load (-1: no sample)
		end       int // established at the end of the quiet phase
		quietSecs float64
		to        string
		want      string
		msg       string
	}{
		{name: "drained", before: 0, end: 0, quietSecs: 10, want: record.StatusPass},
		{name: "stuck", before: 0, end: 7, quietSecs: 10, want: record.StatusFail, msg: "intra: 7 connections still established on node proxy at 12:00:20, 10s after rest began (baseline 0)"},
		{name: "baseline not zero", before: 2, end: 2, quietSecs: 10, want: record.StatusPass},
		{name: "explicit target", before: 0, end: 3, quietSecs: 10, to: "3", want: record.StatusPass},
		{name: "quiet shorter than timeout", before: 0, end: 4, quietSecs: 2, want: record.StatusInconclusive, msg: "make it longer"},
		{name: "no baseline sample", before: -1, end: 0, quietSecs: 10, want: record.StatusInconclusive, msg: "baseline"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			f.phase("load", "load", "steady", 5, 10)
			f.phase("rest", "rest", "quiet", 10, 10+tc.quietSecs)
			if tc.before >= 0 {
				f.sample("proxy", 4, func(s *record.Sample) { s.Sockets = layerSockets("intra", tc.before, 0) })
			}
			f.sample("proxy", 8, func(s *record.Sample) { s.Sockets = layerSockets("intra", 20, 0) })
			f.sample("proxy", 10+tc.quietSecs, func(s *record.Sample) { s.Sockets = layerSockets("intra", tc.end, 0) })
			c := onlyCheck(t, f.evaluate(&scenarios.Expectation{Drain: &scenarios.DrainCheck{Layer: "intra", After: "rest", To: tc.to}}))
			if c.Status != tc.want || !strings.Contains(c.Message, tc.msg) {
				t.Fatalf("got %s %q, want %s containing %q", c.Status, c.Message, tc.want, tc.msg)
			}
			if tc.want != record.StatusInconclusive && c.Value != float64(tc.end) {
				t.Errorf("value %v, want %d", c.Value, tc.end)
			}
		})
	}
}

func TestDrainEveryRun(t *testing.T) {
	f := newFixture(t)
	f.sample("proxy", 0, func(s *record.Sample) { s.Sockets = layerSockets("intra", 0, 0) })
	for i, end := range []int{0, 0, 5} {
		off := float64(i * 20)
		name := "rest"
		if i > 0 {
			name = "rest#" + string(rune('1'+i))
		}
		f.phase("load", "load", "steady", off+1, off+10)
		f.phase(name, "rest", "quiet", off+10, off+20)
		f.sample("proxy", off+20, func(s *record.Sample) { s.Sockets = layerSockets("intra", end, 0) })
	}
	v := f.evaluate(&scenarios.Expectation{Drain: &scenarios.DrainCheck{Layer: "intra", After: "rest"}})
	if len(v.Checks) != 3 || v.Checks[2].Status != record.StatusFail || v.Checks[0].Status != record.StatusPass || v.Checks[2].Name != "drain/intra/rest#3" {
		t.Fatalf("got %+v", v.Checks)
	}
	if v.Status != record.StatusFail {
		t.Errorf("verdict %s, want fail", v.Status)
	}
}

func TestCloseWait(t *testing.T) {
	for _, tc := range []struct {
		name  string
		ages  []int64
		layer string
		want  string
	}{
		{"none", []int64{0, 0, 0}, "backend", record.StatusPass},
		{"brief", []int64{0, 200, 0}, "backend", record.StatusPass},
		{"stuck", []int64{0, 2000, 4000, 6000}, "backend", record.StatusFail},
		{"stuck, any layer", []int64{0, 2000, 4000, 6000}, "", record.StatusFail},
		{"no socket samples", nil, "backend", record.StatusInconclusive},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			for i, age := range tc.ages {
				f.sample("target", float64(i), func(s *record.Sample) {
					s.Sockets = layerSockets("backend", 1, 0)
					s.Sockets.Layers["backend"].CloseWaitMaxAgeMs = age
				})
			}
			if tc.ages == nil {
				f.sample("target", 1, func(s *record.Sample) { s.FDs = &record.FDs{Total: 3} })
			}
			c := onlyCheck(t, f.evaluate(&scenarios.Expectation{CloseWait: &scenarios.CloseWaitCheck{Layer: tc.layer, MaxAge: scenarios.Duration(3e9)}}))
			if c.Status != tc.want {
				t.Fatalf("got %s %q, want %s", c.Status, c.Message, tc.want)
			}
			if tc.want == record.StatusFail && (c.Value != 6 || c.Layer != "backend" || c.Node != "target" || !strings.Contains(c.Message, "CLOSE_WAIT 6.0s (limit 3s) on node target from 11:59:57")) {
				t.Errorf("evidence: %+v", c)
			}
		})
	}
}
