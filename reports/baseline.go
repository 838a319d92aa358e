package reports

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/soak-dev/soak/record"
)

// ErrNoBaseline is returned by FindBaseline when no run fits.
var ErrNoBaseline = errors.New("no baseline run")

// FindBaseline returns dir itself when it is a run directory, else the run
// directly under dir with the latest start whose scenario is scenario (any
// scenario when empty), skipping exclude (the run being judged).
func FindBaseline(dir, scenario, exclude string) (string, error) {
	if _, err := os.Stat(filepath.Join(dir, record.MetaFile)); err == nil {
		return dir, nil
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return "", fmt.Errorf("find baseline: %w", err)
	}
	var best string
	var bestRun *record.Run
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		p := filepath.Join(dir, e.Name())
		if same(p, exclude) {
			continue
		}
		r, err := record.Open(p)
		if err != nil || (scenario != "" && r.Meta.Scenario != scenario) {
			continue
		}
		if bestRun == nil || r.Meta.Start.After(bestRun.Meta.Start) {
			best, bestRun = p, r
		}
	}
	if best == "" {
		return "", fmt.Errorf("%w of scenario %q in %s", ErrNoBaseline, scenario, dir)
	}
	return best, nil
}

func same(a, b string) bool {
	if b == "" {
		return false
	}
	sa, err1 := os.Stat(a)
	sb, err2 := os.Stat(b)
	return err1 == nil && err2 == nil && os.SameFile(sa, sb)
}
