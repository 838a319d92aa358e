package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/goccy/go-yaml"
)

// TestDeployArgs: every soak command line in the Kubernetes manifests
// (deploy/k8s) names a subcommand and flags this soak has, so a renamed
// flag fails here, not in a cluster. Shell lines (the Indexed Job's shard
// arithmetic) are checked with the shell's expansions filled in.
func TestDeployArgs(t *testing.T) {
	t.Parallel()
	files, _ := filepath.Glob("../../deploy/k8s/*.yaml")
	if len(files) == 0 {
		t.Fatal("no manifests in deploy/k8s")
	}
	expand := strings.NewReplacer(`"$((JOB_COMPLETION_INDEX + 1))/4"`, "1/4", `"/runs/shard-$JOB_COMPLETION_INDEX"`, "/runs/shard-0",
		"$(SOAK_PROCESS)", "my-server", "$(SOAK_NODE)", "proxy")
	checked := 0
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, part := range regexp.MustCompile(`(?m)^---\s*$`).Split(string(b), -1) {
			var d struct {
				Spec struct {
					Template struct {
						Spec struct {
							Containers []struct {
								Command []string `yaml:"command"`
								Args    []string `yaml:"args"`
							} `yaml:"containers"`
						} `yaml:"spec"`
					} `yaml:"template"`
				} `yaml:"spec"`
			}
			if err := yaml.Unmarshal([]byte(part), &d); err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			for _, c := range d.Spec.Template.Spec.Containers {
				var lines [][]string
				if len(c.Command) > 0 && strings.HasSuffix(c.Command[0], "sh") {
					for _, a := range c.Args {
						for _, cmd := range strings.Split(expand.Replace(a), "&&") {
							lines = append(lines, strings.Fields(strings.TrimPrefix(strings.TrimSpace(cmd), "exec ")))
						}
					}
				} else {
					args := make([]string, len(c.Args))
					for i, a := range c.Args {
						args[i] = expand.Replace(a)
					}
					lines = append(lines, append([]string{"soak"}, args...))
				}
				for _, l := range lines {
					if len(l) < 2 || l[0] != "soak" {
						t.Errorf("%s: %q is not a soak command line", f, l)
						continue
					}
					sub, rest, err := newRootCmd().Find(l[1:])
					if err == nil && sub.Name() == "soak" {
						t.Errorf("%s: %q: no soak subcommand", f, l)
						continue
					}
					if err == nil {
						err = sub.ParseFlags(rest)
					}
					if err != nil {
						t.Errorf("%s: %q: %v", f, l, err)
					}
					checked++
				}
			}
		}
	}
	if checked < 5 {
		t.Errorf("checked %d soak command lines in the manifests, want the exporter's, the run's, the shards', merge and report", checked)
	}
}
