package main

import (
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/soak-dev/soak/record"
	"github.com/soak-dev/soak/runner"
	"github.com/soak-dev/soak/scenarios"
)

// completeScenarios offers the built-in scenarios and the YAML files and
// folders matching what is typed (soak completion bash|zsh|fish).
func completeScenarios(_ *cobra.Command, _ []string, toComplete string) ([]string, cobra.ShellCompDirective) {
	var out []string
	for _, b := range scenarios.BuiltinNames() {
		if strings.HasPrefix(b, toComplete) {
			out = append(out, b)
		}
	}
	out = append(out, matchPaths(toComplete, func(path string, dir bool) bool {
		ext := filepath.Ext(path)
		return !dir && (ext == ".yaml" || ext == ".yml")
	})...)
	return out, cobra.ShellCompDirectiveNoSpace | cobra.ShellCompDirectiveNoFileComp
}

// completeRunDirs offers run directories (those holding meta.json) under
// runs/, or under whatever folder is being typed.
func completeRunDirs(_ *cobra.Command, _ []string, toComplete string) ([]string, cobra.ShellCompDirective) {
	if toComplete == "" {
		toComplete = runner.DefaultOutDir + string(filepath.Separator)
	}
	out := matchPaths(toComplete, func(path string, dir bool) bool {
		_, err := os.Stat(filepath.Join(path, record.MetaFile))
		return dir && err == nil
	})
	return out, cobra.ShellCompDirectiveNoSpace | cobra.ShellCompDirectiveNoFileComp
}

// matchPaths lists the entries of the folder of prefix that start with it:
// those keep accepts, and folders (with a trailing slash) to descend into.
func matchPaths(prefix string, keep func(path string, dir bool) bool) []string {
	dir, base := filepath.Split(prefix)
	entries, err := os.ReadDir(filepath.Join(".", dir))
	if err != nil {
		return nil
	}
	var out []string
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), base) || (strings.HasPrefix(e.Name(), ".") && !strings.HasPrefix(base, ".")) {
			continue
		}
		path := dir + e.Name()
		isDir := e.IsDir()
		if keep(path, isDir) {
			out = append(out, path)
			continue
		}
		if isDir {
			out = append(out, path+string(filepath.Separator))
		}
	}
	return out
}
