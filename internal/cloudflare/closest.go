package cloudflare

import (
	"sort"
	"strings"
)

// maxSuggestions is how many names closest suggests at most.
const maxSuggestions = 3

// closest returns up to maxSuggestions names nearest to ref by edit distance (case-insensitive), nearest first, leaving
// out names so far away that suggesting them would be noise.
func closest(ref string, names []string) []string {
	ref = strings.ToLower(strings.TrimSpace(ref))
	limit := len(ref) / 3
	if limit < 3 {
		limit = 3
	}
	type scored struct {
		name string
		d    int
	}
	var hits []scored
	for _, name := range names {
		if d := editDistance(ref, strings.ToLower(name)); d <= limit {
			hits = append(hits, scored{name, d})
		}
	}
	sort.SliceStable(hits, func(i, j int) bool {
		if hits[i].d != hits[j].d {
			return hits[i].d < hits[j].d
		}
		return hits[i].name < hits[j].name
	})
	var out []string
	for _, h := range hits {
		if len(out) == maxSuggestions {
			break
		}
		out = append(out, h.name)
	}
	return out
}

// editDistance is the Levenshtein distance over runes, in O(len(b)) memory.
func editDistance(a, b string) int {
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
