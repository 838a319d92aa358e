package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/soak-dev/soak/internal/clitest"
)

func TestValidateAndUsageExitCodes(t *testing.T) {
	t.Parallel() // subprocesses only
	dir := t.TempDir()
	good, bad := filepath.Join(dir, "good.yaml"), filepath.Join(dir, "bad.yaml")
	const text = "name: %s\nnodes: {a: {command: [x]}}\nphases:\n  - name: p\n    quiet: {duration: %s}\n"
	os.WriteFile(good, fmt.Appendf(nil, text, "good", "5s"), 0o644)
	os.WriteFile(bad, fmt.Appendf(nil, text, "bad", "5x"), 0o644)
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"validate", good}, 0, "good.yaml: ok"},
		{[]string{"validate", "quick", "nightly", "ab-engines"}, 0, "ok"},
		{[]string{"validate", bad}, 2, "bad.yaml:5:23: phases[0].quiet.duration: \"5x\" is not a duration"},
		{[]string{"run", bad}, 2, "is not a duration"},
		{[]string{"run", "no-such-scenario"}, 2, "no such file"},
		{[]string{"run", "--duration-scale", "0"}, 2, "--duration-scale"},
		{[]string{"run", "quick", "--set", "nope.x=1"}, 2, "no field"},
		{[]string{"frobnicate"}, 2, "unknown command"},
		{[]string{"version"}, 0, "soak "},
	} {
		code, out := clitest.Run(t, tc.args...)
		if code != tc.code || !strings.Contains(out, tc.want) {
			t.Errorf("soak %v: exit %d, output %q; want exit %d containing %q", tc.args, code, out, tc.code, tc.want)
		}
	}
}
