// Package suggest finds the known name a user most likely meant, for the
// "did you mean" of error messages (unknown scenario fields, series names).
package suggest

// Distance is the Levenshtein edit distance of a and b, in runes.
func Distance(a, b string) int {
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

// Closest returns the candidate nearest to got after norm (nil: as is)
// is applied to both, and its distance; the first in cands order wins a
// tie. It returns "", -1 when cands is empty.
func Closest(got string, cands []string, norm func(string) string) (string, int) {
	if norm == nil {
		norm = func(s string) string { return s }
	}
	best, bestD := "", -1
	g := norm(got)
	for _, c := range cands {
		if d := Distance(g, norm(c)); bestD < 0 || d < bestD {
			best, bestD = c, d
		}
	}
	return best, bestD
}
