package series

import (
	"strings"

	"github.com/soak-dev/soak/internal/suggest"
)

// closest returns prefix+the candidate closest to got, or "" when none is
// close enough to be what the user meant.
func closest(got string, cands []string, prefix string) string {
	return closestWith(got, cands, prefix, "")
}

func closestWith(got string, cands []string, prefix, suffix string) string {
	best, bestD := suggest.Closest(got, cands, fold)
	// Case, '_' for '-' and up to a third of the letters wrong still
	// read as a slip; further off, a suggestion would be a guess.
	if best == "" || bestD > max(1, len([]rune(got))/3) {
		return ""
	}
	return prefix + best + suffix
}

// fold makes names that differ only in case or in '_' versus '-' equal.
func fold(s string) string {
	return strings.ReplaceAll(strings.ToLower(s), "_", "-")
}
