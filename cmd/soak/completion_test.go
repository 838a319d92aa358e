package main

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/soak-dev/soak/record"
)

// Completion offers built-in scenarios and YAML files to run/validate, and
// run directories (those with meta.json) to report/compare.
func TestCompletion(t *testing.T) {
	dir := t.TempDir()
	for _, p := range []string{"my.yaml", "notes.txt", "runs/20260101-000000_quick/" + record.MetaFile, "runs/not-a-run/x"} {
		if err := os.MkdirAll(filepath.Join(dir, filepath.Dir(p)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, p), []byte("{}"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	t.Chdir(dir)
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"__complete", "run", ""}, []string{"ab-engines", "nightly", "quick", "my.yaml", "runs/"}},
		{[]string{"__complete", "validate", "q"}, []string{"quick"}},
		{[]string{"__complete", "report", ""}, []string{"runs/20260101-000000_quick", "runs/not-a-run/"}},
		{[]string{"__complete", "compare", "runs/2"}, []string{"runs/20260101-000000_quick"}},
	} {
		root := newRootCmd()
		var out bytes.Buffer
		root.SetOut(&out)
		root.SetErr(&bytes.Buffer{})
		root.SetArgs(tc.args)
		if err := root.Execute(); err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, l := range strings.Split(out.String(), "\n") {
			if l != "" && !strings.HasPrefix(l, ":") {
				got = append(got, l)
			}
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("%v: %q, want %q", tc.args, got, tc.want)
		}
	}
}

// soak --version answers like soak version; help lists the built-ins readably.
func TestVersionFlagAndHelp(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--version"}, "soak " + soakVersion() + " (go"},
		{[]string{"run", "--help"}, "Built-in scenarios: ab-engines, nightly, quick\n"},
	} {
		root := newRootCmd()
		var out bytes.Buffer
		root.SetOut(&out)
		root.SetArgs(tc.args)
		if err := root.Execute(); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(out.String(), tc.want) {
			t.Errorf("soak %v printed %q, want it to contain %q", tc.args, out.String(), tc.want)
		}
	}
}
