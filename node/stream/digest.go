package stream

import (
	"slices"
	"sort"

	"github.com/memdb/memdb/clock"
	"github.com/memdb/memdb/net"
	"github.com/memdb/memdb/node/ring"
	"github.com/memdb/memdb/node/store"
)

// Digests sums, for each span, store.Hash over the keys st holds in it.
// The spans are an asker's arcs, which do not overlap; a span whose start
// is its end is the whole ring.
func Digests(st *store.Store, spans []net.Span) []uint64 {
	d := NewDigest(spans, st.Keys(), clock.Timestamp{})
	d.Step(st, d.keys.Len())
	return d.Sums.Sums
}

// Sums are the digests of spans, and how many keys each held.
type Sums struct {
	Sums []uint64
	Keys []int
}

func (s Sums) add(i int, h uint64) {
	s.Sums[i] += h
	s.Keys[i]++
}

// A Digest is the digests of spans being summed over a list of keys a
// slice at a time (Step), so that a large store holds the node's loop for
// one slice at a time. A key's state is read when its slice is summed: the
// sums are of no single instant, which anti-entropy tolerates (a
// difference it sees is pulled; one it misses, the next round sees).
type Digest struct {
	Sums  Sums
	spans []net.Span
	keys  store.Keys
	// horizon, if not zero, leaves out versions stamped after it.
	horizon clock.Timestamp
	// Expired, if not zero, leaves out the plain tombstones (store's
	// Version.Tombstone) stamped at or before it: those the tombstone rule
	// may have dropped (net.DigestBefore).
	Expired clock.Timestamp
	// Records, if not zero, leaves out the batch records (store's
	// IsRecordKey and RecordExpired) and the aborted markers (DropMarkers)
	// at or before it: those the collector may have dropped
	// (net.DigestBefore).
	Records clock.Timestamp
	byEnd   []int // span indexes sorted by end
	wraps   []int // spans that wrap past zero (or are the whole ring)
}

// NewDigest starts the digests of spans over keys (sorted; the store's),
// of the versions stamped at or before horizon (all, if it is zero).
func NewDigest(spans []net.Span, keys store.Keys, horizon clock.Timestamp) *Digest {
	d := &Digest{Sums: Sums{make([]uint64, len(spans)), make([]int, len(spans))}, spans: spans, keys: keys, horizon: horizon}
	// Spans sorted by end: a key's candidates are the first span ending at
	// or after its hash and every span that wraps past zero.
	d.byEnd = make([]int, len(spans))
	for i := range d.byEnd {
		d.byEnd[i] = i
	}
	slices.SortFunc(d.byEnd, func(a, b int) int {
		switch ea, eb := spans[a].End, spans[b].End; {
		case ea < eb:
			return -1
		case ea > eb:
			return 1
		}
		return a - b
	})
	for _, i := range d.byEnd {
		if spans[i].Start >= spans[i].End {
			d.wraps = append(d.wraps, i)
		}
	}
	return d
}

// Step sums the next n keys (fewer at the end) and reports whether every
// key has been summed.
func (d *Digest) Step(st *store.Store, n int) bool {
	spans, byEnd := d.spans, d.byEnd
	in := func(i int, h uint64) bool { return (ring.Range{Start: spans[i].Start, End: spans[i].End}).Contains(h) }
	slice, rest := d.keys.Cut(n)
	for key := range slice.All() {
		v, ok := st.Get([]byte(key))
		if !ok || !d.horizon.IsZero() && d.horizon.Less(v.Stamp) || !d.Expired.IsZero() && v.Tombstone() && !d.Expired.Less(v.Stamp) {
			continue
		}
		if store.RecordExpired(d.Records, v) && store.IsRecordKey([]byte(key)) {
			continue
		}
		if v, _ = store.DropMarkers(v, d.Records); v.Nothing() {
			continue
		}
		h := ring.Hash([]byte(key))
		vh := store.Hash([]byte(key), v)
		for j := sort.Search(len(byEnd), func(j int) bool { return spans[byEnd[j]].End >= h }); j < len(byEnd) && in(byEnd[j], h); j++ {
			if spans[byEnd[j]].Start < spans[byEnd[j]].End {
				d.Sums.add(byEnd[j], vh)
			}
		}
		for _, i := range d.wraps {
			if in(i, h) {
				d.Sums.add(i, vh)
			}
		}
	}
	d.keys = rest
	return rest.Len() == 0
}
