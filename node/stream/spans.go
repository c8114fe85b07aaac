package stream

import (
	"math/bits"
	"slices"

	"github.com/memdb/memdb/net"
	"github.com/memdb/memdb/node/ring"
)

// Contains reports whether ring position h lies in one of ss.
func Contains(ss []net.Span, h uint64) bool {
	for _, s := range ss {
		if (ring.Range{Start: s.Start, End: s.End}).Contains(h) {
			return true
		}
	}
	return false
}

// Append adds s to ss, merging it with the last span if they touch.
func Append(ss []net.Span, s net.Span) []net.Span {
	if k := len(ss) - 1; k >= 0 && ss[k].End == s.Start {
		ss[k].End = s.End
		return ss
	}
	return append(ss, s)
}

// Marks lists per-origin marks in origin order, for a Sync.
func Marks(m map[uint16]uint64) []net.Mark {
	ms := make([]net.Mark, 0, len(m))
	for o, c := range m {
		ms = append(ms, net.Mark{Origin: o, Counter: c})
	}
	slices.SortFunc(ms, func(a, b net.Mark) int { return int(a.Origin) - int(b.Origin) })
	return ms
}

// Split cuts span s into k sub-spans of (nearly) equal length on the ring,
// in ring order from s's start, whose union is s; a span shorter than k
// positions gives fewer. A span whose start is its end is the whole ring.
func Split(s net.Span, k int) []net.Span {
	var hi, lo uint64 = 0, s.End - s.Start // the length, 2^64 for the whole ring
	if s.Start == s.End {
		hi = 1
	}
	out := make([]net.Span, 0, k)
	prev := s.Start
	for i := 1; i <= k; i++ {
		b := s.End
		if i < k {
			// Start + length·i/k, in 128 bits: length·i < k·2^64.
			mh, ml := bits.Mul64(lo, uint64(i))
			mh += hi * uint64(i)
			q, _ := bits.Div64(mh, ml, uint64(k))
			b = s.Start + q
		}
		if b != prev || (i == k && len(out) == 0) {
			out = append(out, net.Span{Start: prev, End: b})
			prev = b
		}
	}
	return out
}
