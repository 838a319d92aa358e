package series

import "strings"

// suggest returns prefix+the candidate closest to got, or "" when none is
// close enough to be what the user meant.
func suggest(got string, cands []string, prefix string) string {
	return suggestWith(got, cands, prefix, "")
}

func suggestWith(got string, cands []string, prefix, suffix string) string {
	best, bestD := "", -1
	for _, c := range cands {
		d := distance(fold(got), fold(c))
		if bestD < 0 || d < bestD {
			best, bestD = c, d
		}
	}
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

// distance is the Levenshtein edit distance of a and b.
func distance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}
