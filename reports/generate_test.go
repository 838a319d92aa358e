package reports

import (
	"os"
	"testing"
)

// TestGenerate writes crafted runs to SOAK_REPORTS_GEN for a person to look
// at (or for soak report / soak compare to read); it builds nothing itself.
func TestGenerate(t *testing.T) {
	dir := os.Getenv("SOAK_REPORTS_GEN")
	if dir == "" {
		t.Skip("set SOAK_REPORTS_GEN=DIR to write sample runs there")
	}
	two := defaultSynth()
	two.leak = true
	two.verdict = failingVerdict()
	two.nodes = []string{"proxy", "target"}
	lm := two.layers["backend"]
	lm.Node = "target"
	two.layers["backend"] = lm
	healthy := defaultSynth()
	healthy.verdict = passingVerdict()
	leaking := defaultSynth()
	leaking.leak = true
	leaking.verdict = failingVerdict()
	killed := defaultSynth()
	killed.killed = true
	killed.maxSamples = 40
	for name, s := range map[string]synth{"healthy": healthy, "leaking": leaking, "two-nodes": two, "killed": killed} {
		s.write(t, dir+"/"+name)
	}
}
