package checks

import (
	"strings"
	"testing"
	"time"

	"github.com/soak-dev/soak/record"
)

func TestGrownStacks(t *testing.T) {
	t0 := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	prof := func(n int) *record.Goroutines {
		return &record.Goroutines{Total: n + 5, Source: record.SourcePprof,
			ByClass: map[string]int{record.ClassOther: n + 5},
			Top:     []record.Stack{{Func: "main.idle", Count: 5}, {Func: "main.leak", Count: n}}}
	}
	tests := []struct {
		name      string
		firstAt   time.Duration // the first profile's time, from t0; load starts at 10 s
		wantSince string
	}{
		{"profile before load", 5 * time.Second, "last sample before load"},
		// A node that answered its first profile fetch only after load had
		// begun: the growth since that profile is still named.
		{"first profile after load", 12 * time.Second, "none came before load"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := &runData{}
			d.meta.Phases = []record.PhaseMeta{{Name: "quiet", Kind: "quiet", Start: t0}, {Name: "warm", Kind: "steady", Start: t0.Add(10 * time.Second)}}
			d.noteStacks(record.Sample{Node: "n", Time: t0.Add(tt.firstAt), Goroutines: prof(1)})
			d.noteStacks(record.Sample{Node: "n", Time: t0.Add(60 * time.Second), Goroutines: prof(400)})
			var r record.CheckResult
			d.attribute("n", &r)
			if len(r.Grew) == 0 || r.Grew[0].Func != "main.leak" || r.Grew[0].Growth != 399 {
				t.Fatalf("grew %+v, want main.leak +399 first", r.Grew)
			}
			if !strings.Contains(strings.Join(r.Details, "\n"), tt.wantSince) {
				t.Errorf("details %q do not say %q", r.Details, tt.wantSince)
			}
		})
	}
}
