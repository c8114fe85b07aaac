package ring

import (
	"cmp"
	"fmt"
	"slices"
)

// Range is an arc of the ring: the positions after Start up to and
// including End, clockwise. When Start > End the arc wraps past the top of
// the ring (it holds positions above Start and positions up to End). When
// Start == End it is the whole ring, which is what a ring with one token
// gives its owner. An empty Range never occurs.
type Range struct {
	Start uint64 // exclusive
	End   uint64 // inclusive
}

// Contains reports whether position h lies in the range.
func (g Range) Contains(h uint64) bool {
	switch {
	case g.Start < g.End:
		return g.Start < h && h <= g.End
	case g.Start > g.End:
		return h > g.Start || h <= g.End
	default:
		return true
	}
}

// Size is how many positions the range holds, but 0 for the whole ring
// (2^64 positions, which a uint64 cannot hold).
func (g Range) Size() uint64 { return g.End - g.Start }

func (g Range) String() string { return fmt.Sprintf("(%#016x, %#016x]", g.Start, g.End) }

// Ranges are the ranges of the ring for which node id is among the rf
// replicas: those whose positions list id in ReplicasOf. Adjacent ranges are
// merged, and the result is ordered by End. It is nil when id is not a
// member or rf < 1.
func (r Ring) Ranges(id uint16, rf int) []Range {
	n := len(r.tokens)
	if rf < 1 || !r.Has(id) {
		return nil
	}
	// in[i]: id replicates the range ending at token i. Every position of
	// that range maps to token i, so one lookup decides the whole range.
	in := make([]bool, n)
	buf := make([]uint16, 0, rf)
	for i, t := range r.tokens {
		in[i] = slices.Contains(r.AppendReplicasOf(buf[:0], t, rf), id)
	}
	return arcs(r.tokens, func(i int) bool { return in[i] }, func(i, j int) bool { return true })
}

// Move is a range whose replica set differs between two rings: From are its
// replicas in the old ring and To in the new, each as a set of node ids in
// ascending order (the preference order is dropped: only the set decides
// who must hold the data).
type Move struct {
	Range Range
	From  []uint16
	To    []uint16
}

// Gained are the nodes that replicate the range in the new ring but did not
// in the old: the ones that must have its data streamed to them, from From.
func (m Move) Gained() []uint16 { return minus(m.To, m.From) }

// Lost are the nodes that replicated the range in the old ring but do not in
// the new: the ones that may drop its data once the new ring is in force.
func (m Move) Lost() []uint16 { return minus(m.From, m.To) }

func (m Move) String() string { return fmt.Sprintf("%v %v->%v", m.Range, m.From, m.To) }

// Moves are the ranges whose set of rf replicas differs between old and new,
// what a change of membership must stream: every position whose replica set
// changes lies in exactly one Move, and no other position lies in any.
// Adjacent ranges with the same From and To are merged, and the result is
// ordered by Range.End. Moves compares placements only; it does not look at
// the epochs.
func Moves(old, new Ring, rf int) []Move {
	if rf < 1 {
		return nil
	}
	// Cut the ring at every token of either ring: within one of the
	// resulting pieces no token of either ring intervenes, so each ring
	// gives all of the piece's positions the same replicas.
	cuts := slices.Concat(old.tokens, new.tokens)
	slices.Sort(cuts)
	cuts = slices.Compact(cuts)
	from := make([][]uint16, len(cuts))
	to := make([][]uint16, len(cuts))
	for i, c := range cuts {
		from[i] = sorted(old.ReplicasOf(c, rf))
		to[i] = sorted(new.ReplicasOf(c, rf))
	}
	moved := func(i int) bool { return !slices.Equal(from[i], to[i]) }
	same := func(i, j int) bool { return slices.Equal(from[i], from[j]) && slices.Equal(to[i], to[j]) }
	var moves []Move
	for _, g := range arcRuns(cuts, moved, same) {
		moves = append(moves, Move{Range: g.Range, From: from[g.last], To: to[g.last]})
	}
	return moves
}

// arcs are the ranges made of runs of consecutive pieces, where piece i is
// the range ending at tokens[i], that are active and the same as their
// neighbour; see arcRuns.
func arcs(tokens []uint64, active func(i int) bool, same func(i, j int) bool) []Range {
	var gs []Range
	for _, g := range arcRuns(tokens, active, same) {
		gs = append(gs, g.Range)
	}
	return gs
}

type run struct {
	Range
	last int // index of the run's last piece
}

// arcRuns splits the ring, cut at tokens (ascending, distinct), into pieces
// — piece i is (tokens[i-1], tokens[i]], piece 0 wrapping from the last
// token — and returns the maximal runs of consecutive active pieces that are
// the same, going round the ring, ordered by End.
func arcRuns(tokens []uint64, active func(i int) bool, same func(i, j int) bool) []run {
	n := len(tokens)
	prev := func(i int) int { return (i + n - 1) % n }
	starts := func(i int) bool { return active(i) && (!active(prev(i)) || !same(prev(i), i)) }
	first := -1
	for i := range n {
		if starts(i) {
			first = i
			break
		}
	}
	if first < 0 {
		if n > 0 && active(0) {
			// Every piece is active and the same as its neighbour: no run
			// starts anywhere, because one run is the whole ring.
			return []run{{Range{tokens[n-1], tokens[n-1]}, n - 1}}
		}
		return nil
	}
	var runs []run
	for s := first; ; {
		e := s
		for next := (e + 1) % n; next != s && active(next) && same(e, next); next = (e + 1) % n {
			e = next
		}
		runs = append(runs, run{Range{tokens[prev(s)], tokens[e]}, e})
		// Find the next start after this run, stopping when back at first.
		s = (e + 1) % n
		for s != first && !starts(s) {
			s = (s + 1) % n
		}
		if s == first {
			break
		}
	}
	slices.SortFunc(runs, func(a, b run) int { return cmp.Compare(a.End, b.End) })
	return runs
}

func sorted(ids []uint16) []uint16 {
	slices.Sort(ids)
	return ids
}

// minus is a without b, both ascending.
func minus(a, b []uint16) []uint16 {
	var d []uint16
	for _, id := range a {
		if _, ok := slices.BinarySearch(b, id); !ok {
			d = append(d, id)
		}
	}
	return d
}
