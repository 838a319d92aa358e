package checks

import (
	"strings"
	"testing"

	"github.com/soak-dev/soak/record"
	"github.com/soak-dev/soak/scenarios"
)

func TestReclaim(t *testing.T) {
	for _, tc := range []struct {
		name      string
		kernelMs  []int64 // kernel idle max per sample of the backend layer; nil: layer never seen
		backendMs int64   // backend ledger max idle; 0: no ledger entry
		within    scenarios.Duration
		want      string
		value     float64
		msg       string
		disagree  bool
	}{
		{name: "reclaimed", kernelMs: []int64{500, 1900, 2800, 100}, want: record.StatusPass, value: 2.8, msg: "reclaimed in time"},
		{name: "never reclaimed", kernelMs: []int64{1000, 2000, 3000, 4000, 41000}, want: record.StatusFail, value: 41,
			msg: "backend: a connection to s3 sat idle 41.0s (limit 2s + 1.5s) on node target from 11:59:24 (seen by kernel); the SUT did not reclaim it"},
		{name: "within overrides timeout", kernelMs: []int64{4000}, within: scenarios.Duration(5e9), want: record.StatusPass, value: 4},
		{name: "layer never seen", want: record.StatusInconclusive, msg: "no witness saw"},
		{name: "backend alone fails", backendMs: 9000, want: record.StatusFail, value: 9, msg: "seen by backend"},
		{name: "witnesses disagree", kernelMs: []int64{1500}, backendMs: 9000, want: record.StatusPass, value: 1.5, disagree: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			for i, ms := range tc.kernelMs {
				f.sample("target", float64(i+1), func(s *record.Sample) { s.Sockets = layerSockets("backend", 3, ms) })
			}
			if tc.kernelMs == nil {
				f.sample("target", 1, func(s *record.Sample) { s.Sockets = layerSockets("intra", 3, 100) })
			}
			if tc.backendMs > 0 {
				f.conn(record.Conn{Witness: record.WitnessBackend, Source: "s3", Opened: at(1), Closed: at(20), MaxIdleMs: tc.backendMs, ClosedBy: record.ClosedByClient})
			}
			c := onlyCheck(t, f.evaluate(&scenarios.Expectation{Reclaim: &scenarios.ReclaimCheck{Layer: "backend", Within: tc.within}}))
			if c.Status != tc.want || c.Value != tc.value {
				t.Fatalf("status %s value %v, want %s %v: %s", c.Status, c.Value, tc.want, tc.value, c.Message)
			}
			if !strings.Contains(c.Message, tc.msg) {
				t.Errorf("message %q does not contain %q", c.Message, tc.msg)
			}
			if got := strings.Contains(strings.Join(c.Details, "\n"), "witnesses disagree"); got != tc.disagree {
				t.Errorf("disagreement reported = %v, want %v: %v", got, tc.disagree, c.Details)
			}
			if tc.disagree && (c.Witnesses["kernel"] != 1.5 || c.Witnesses["backend"] != 9) {
				t.Errorf("witnesses = %v", c.Witnesses)
			}
		})
	}
}

func TestReclaimClientLedger(t *testing.T) {
	f := newFixture(t)
	f.conn(record.Conn{Witness: record.WitnessClient, Source: "hold", Opened: at(1), Closed: at(30), MaxIdleMs: 29000, IdleBeforeCloseMs: 29000, ClosedBy: record.ClosedByClient})
	c := onlyCheck(t, f.evaluate(&scenarios.Expectation{Reclaim: &scenarios.ReclaimCheck{Layer: "client"}}))
	if c.Status != record.StatusFail || !strings.Contains(c.Message, "from 12:00:01") {
		t.Fatalf("got %s: %s", c.Status, c.Message)
	}
}

// TestReclaimKernelEvents: with the kernel event witness the tolerance is
// an interval tighter: a SUT that closes idle connections 800 ms late fails,
// where one interval + 500 ms would have passed it; one on time passes.
func TestReclaimKernelEvents(t *testing.T) {
	for _, tc := range []struct {
		name   string
		idleMs []int64 // idle before close of each connection (timeout 2 s)
		polled int64   // idle max of the open connections in the samples
		want   string
		value  float64
		msg    string
	}{
		{name: "on time", idleMs: []int64{2000, 2004, 1500}, polled: 1900, want: record.StatusPass, value: 2.004, msg: "seen by kernel-events"},
		{name: "late by 800 ms", idleMs: []int64{2000, 2800}, polled: 1900, want: record.StatusFail, value: 2.8,
			msg: "sat idle 2.8s (limit 2s + 500ms)"},
		{name: "open one never reclaimed", idleMs: []int64{2000}, polled: 9000, want: record.StatusFail, value: 9},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			f.sample("target", 1, func(s *record.Sample) { s.Sockets = layerSockets("backend", 3, tc.polled) })
			for i, ms := range tc.idleMs {
				f.conn(record.Conn{Witness: record.WitnessKernelEvents, Source: "target", Layer: "backend", Side: record.SideClient,
					Opened: at(float64(i)), Closed: at(float64(i) + 3), IdleBeforeCloseMs: ms, MaxIdleMs: ms, ClosedBy: record.ClosedByServer})
			}
			c := onlyCheck(t, f.evaluate(&scenarios.Expectation{Reclaim: &scenarios.ReclaimCheck{Layer: "backend"}}))
			if c.Status != tc.want || c.Value != tc.value {
				t.Fatalf("status %s value %v, want %s %v: %s", c.Status, c.Value, tc.want, tc.value, c.Message)
			}
			if !strings.Contains(c.Message, tc.msg) {
				t.Errorf("message %q does not contain %q", c.Message, tc.msg)
			}
			if d := strings.Join(c.Details, "\n"); !strings.Contains(d, "default with kernel events") {
				t.Errorf("details do not say the tolerance is the exact one: %s", d)
			}
		})
	}
}

// TestReclaimRemoteStep: a remote node's samples are a query step apart,
// so the default tolerance is one step + 500 ms, not one run interval:
// an idle of 2 s + 1.9 s (limit 2 s) passes at a 2 s step and fails at
// the run's 1 s interval.
func TestReclaimRemoteStep(t *testing.T) {
	for _, tc := range []struct {
		stepMs int64
		want   string
	}{{2000, record.StatusPass}, {0, record.StatusFail}} {
		f := newFixture(t)
		if tc.stepMs > 0 {
			f.meta.Nodes["target"] = record.NodeMeta{Engine: "net/http",
				Remote: &record.RemoteMeta{Source: "prometheus", URL: "http://p:9090", StepMs: tc.stepMs}}
		}
		for i, ms := range []int64{1000, 3900, 500} {
			f.sample("target", float64(2*i+1), func(s *record.Sample) { s.Sockets = layerSockets("backend", 3, ms) })
		}
		c := onlyCheck(t, f.evaluate(&scenarios.Expectation{Reclaim: &scenarios.ReclaimCheck{Layer: "backend"}}))
		if c.Status != tc.want {
			t.Errorf("step %d ms: %s (%s), want %s", tc.stepMs, c.Status, c.Message, tc.want)
		}
	}
}
