package checks

import (
	"math/rand/v2"
	"testing"

	"github.com/soak-dev/soak/record"
	"github.com/soak-dev/soak/scenarios"
)

// TestNoGrowthFarFuture: issue 21. A phase window reaching year 9999 (a
// damaged meta.json, one sample dated there) made no_growth step through
// it a minute at a time and never finish. Empty stretches are skipped now,
// and the verdict is the same as without the stray window.
func TestNoGrowthFarFuture(t *testing.T) {
	f := newFixture(t)
	rng := rand.New(rand.NewPCG(1, 2))
	f.phase("soak", "soak", "steady", 0, 30*60)
	f.meta.Phases[0].End = at(0).AddDate(7973, 0, 0) // year 9999
	for sec := 0.0; sec <= 30*60; sec++ {
		v := soakValue(sec, 1, rng)
		f.sample("target", sec, func(s *record.Sample) {
			s.Goroutines = &record.Goroutines{Total: int(2 * v), Source: record.SourcePprof}
		})
	}
	c := onlyCheck(t, f.evaluate(&scenarios.Expectation{NoGrowth: &scenarios.NoGrowthCheck{Series: "goroutines", Node: "target", During: []string{"soak"}}}))
	if c.Status == "" {
		t.Fatal("no status")
	}
	t.Logf("%s: %s", c.Status, c.Message)
}
