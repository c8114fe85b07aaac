package stream

import (
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
