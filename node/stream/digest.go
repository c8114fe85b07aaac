package stream

import (
	"slices"
	"sort"

	"github.com/memdb/memdb/net"
	"github.com/memdb/memdb/node/ring"
	"github.com/memdb/memdb/node/store"
)

// Digests sums, for each span, store.Hash over the keys st holds in it.
// The spans are an asker's arcs, which do not overlap; a span whose start
// is its end is the whole ring.
func Digests(st *store.Store, spans []net.Span) []uint64 {
	sums := make([]uint64, len(spans))
	// Spans sorted by end: a key's candidates are the first span ending at
	// or after its hash and every span that wraps past zero.
	byEnd := make([]int, len(spans))
	for i := range byEnd {
		byEnd[i] = i
	}
	slices.SortFunc(byEnd, func(a, b int) int {
		switch ea, eb := spans[a].End, spans[b].End; {
		case ea < eb:
			return -1
		case ea > eb:
			return 1
		}
		return a - b
	})
	var wraps []int
	for _, i := range byEnd {
		if spans[i].Start >= spans[i].End {
			wraps = append(wraps, i)
		}
	}
	in := func(i int, h uint64) bool { return (ring.Range{Start: spans[i].Start, End: spans[i].End}).Contains(h) }
	for _, k := range st.Keys() {
		key := []byte(k)
		h := ring.Hash(key)
		v, _ := st.Get(key)
		vh := store.Hash(key, v)
		for j := sort.Search(len(byEnd), func(j int) bool { return spans[byEnd[j]].End >= h }); j < len(byEnd) && in(byEnd[j], h); j++ {
			if spans[byEnd[j]].Start < spans[byEnd[j]].End {
				sums[byEnd[j]] += vh
			}
		}
		for _, i := range wraps {
			if in(i, h) {
				sums[i] += vh
			}
		}
	}
	return sums
}
