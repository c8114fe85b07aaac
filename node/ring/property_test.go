package ring

import (
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	"pgregory.net/rapid"
)

// Rapid prints, on failure, the -rapid.failfile flag that replays the
// failing case; -rapid.seed=N and -rapid.checks=N widen the search.

// genMembers draws 1..8 members with distinct ids from a small range (so
// that joins and leaves collide), each owning either 1..16 virtual tokens
// or 1..6 explicit tokens. Explicit tokens come from one distinct pool, so
// they never collide; rapid favours edge values such as 0 and 2^64-1 for
// them, which exercises the wraparound.
func genMembers(t *rapid.T, label string) []Member {
	ids := rapid.SliceOfNDistinct(rapid.Uint16Range(1, 40), 1, 8, rapid.ID).Draw(t, label+" ids")
	counts := make([]int, len(ids))
	explicit := make([]bool, len(ids))
	pool := 0
	for i := range ids {
		explicit[i] = rapid.Bool().Draw(t, label+" explicit")
		if explicit[i] {
			counts[i] = rapid.IntRange(1, 6).Draw(t, label+" tokens")
			pool += counts[i]
		} else {
			counts[i] = rapid.IntRange(1, 16).Draw(t, label+" vnodes")
		}
	}
	tokens := rapid.SliceOfNDistinct(rapid.Uint64(), pool, pool, rapid.ID).Draw(t, label+" token pool")
	ms := make([]Member, len(ids))
	for i, id := range ids {
		if explicit[i] {
			ms[i] = Member{id, tokens[:counts[i]]}
			tokens = tokens[counts[i]:]
		} else {
			ms[i] = Member{id, VirtualTokens(id, counts[i])}
		}
	}
	return ms
}

func genRing(t *rapid.T, label string) Ring {
	ms := genMembers(t, label)
	r, err := New(rapid.Uint64().Draw(t, label+" epoch"), ms)
	if err != nil {
		t.Fatalf("New(%v): %v", ms, err)
	}
	return r
}

// positions are where lookups are checked: random ones, and every token and
// its neighbours, where off-by-one errors at range ends would show.
func positions(t *rapid.T, rings ...Ring) []uint64 {
	hs := rapid.SliceOfN(rapid.Uint64(), 1, 20).Draw(t, "positions")
	for _, r := range rings {
		for _, tok := range r.tokens {
			hs = append(hs, tok-1, tok, tok+1)
		}
	}
	return hs
}

// oracle is ReplicasOf done the slow, obvious way: order every token by its
// clockwise distance from h (unsigned subtraction wraps round the ring) and
// take the first rf distinct owners.
func oracle(r Ring, h uint64, rf int) []uint16 {
	idx := make([]int, len(r.tokens))
	for i := range idx {
		idx[i] = i
	}
	slices.SortFunc(idx, func(a, b int) int {
		da, db := r.tokens[a]-h, r.tokens[b]-h
		switch {
		case da < db:
			return -1
		case da > db:
			return 1
		}
		return 0
	})
	var list []uint16
	for _, i := range idx {
		if len(list) < rf && !slices.Contains(list, r.owners[i]) {
			list = append(list, r.owners[i])
		}
	}
	return list
}

func TestPropReplicas(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		r := genRing(t, "ring")
		rf := rapid.IntRange(1, 10).Draw(t, "rf")
		for _, h := range positions(t, r) {
			got := r.ReplicasOf(h, rf)
			if want := min(rf, r.Len()); len(got) != want {
				t.Fatalf("ReplicasOf(%#x, %d) on %v = %v: %d nodes, want %d", h, rf, r, got, len(got), want)
			}
			if len(slices.Compact(slices.Sorted(slices.Values(got)))) != len(got) {
				t.Fatalf("ReplicasOf(%#x, %d) = %v repeats a node", h, rf, got)
			}
			if diff := cmp.Diff(oracle(r, h, rf), got); diff != "" {
				t.Fatalf("ReplicasOf(%#x, %d) on %v (-oracle +got):\n%s", h, rf, r, diff)
			}
		}
	})
}

func TestPropOrderIndependent(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		ms := genMembers(t, "ring")
		shuffled := rapid.Permutation(ms).Draw(t, "order")
		for i, m := range shuffled {
			shuffled[i].Tokens = rapid.Permutation(m.Tokens).Draw(t, "token order")
		}
		a, b := mustNew(t, 3, ms), mustNew(t, 3, shuffled)
		if !a.Equal(b) {
			t.Fatalf("members in another order give another ring: %v vs %v", a, b)
		}
		if !slices.Equal(a.Encode(), b.Encode()) {
			t.Fatalf("members in another order encode differently")
		}
		rf := rapid.IntRange(1, 5).Draw(t, "rf")
		for _, h := range positions(t, a) {
			if diff := cmp.Diff(a.ReplicasOf(h, rf), b.ReplicasOf(h, rf)); diff != "" {
				t.Fatalf("ReplicasOf(%#x, %d) depends on member order (-a +b):\n%s", h, rf, diff)
			}
		}
	})
}

// TestPropJoinMovesOnlyToNewNode is consistent hashing's promise: when a
// node joins, every range that changes hands changes to the new node, and
// when it leaves again, every range it held goes back; nothing else moves.
func TestPropJoinMovesOnlyToNewNode(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		r := mustNew(t, 1, genMembers(t, "ring"))
		id := rapid.Uint16Range(1, 60).Filter(func(id uint16) bool { return !r.Has(id) }).Draw(t, "joiner")
		vnodes := rapid.IntRange(1, 16).Draw(t, "joiner vnodes")
		joined, err := r.With(Member{id, VirtualTokens(id, vnodes)})
		if err != nil {
			t.Fatalf("With node %d: %v", id, err)
		}
		rf := rapid.IntRange(1, 5).Draw(t, "rf")
		for _, m := range Moves(r, joined, rf) {
			if g := m.Gained(); !slices.Equal(g, []uint16{id}) {
				t.Fatalf("join of node %d: move %v gains %v, want only the joiner", id, m, g)
			}
			if l := m.Lost(); len(l) > 1 || (len(l) == 1 && r.Len() < rf) {
				t.Fatalf("join of node %d to %d nodes at rf %d: move %v loses %v", id, r.Len(), rf, m, l)
			}
		}
		for _, m := range Moves(joined, r, rf) {
			if l := m.Lost(); !slices.Equal(l, []uint16{id}) {
				t.Fatalf("leave of node %d: move %v loses %v, want only the leaver", id, m, l)
			}
		}
		for _, h := range positions(t, joined) {
			before, after := r.ReplicasOf(h, rf), joined.ReplicasOf(h, rf)
			for _, n := range after {
				if n != id && !slices.Contains(before, n) {
					t.Fatalf("position %#x: replicas %v before the join of %d, %v after", h, before, id, after)
				}
			}
		}
	})
}

// TestPropMovesMatchLookups checks Moves against ReplicasOf for any two
// rings: a position is in a move exactly when its replica set differs, and
// the move names both sets.
func TestPropMovesMatchLookups(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		var old, new Ring
		if rapid.Bool().Draw(t, "old empty") {
			new = genRing(t, "new")
		} else {
			old, new = genRing(t, "old"), genRing(t, "new")
		}
		rf := rapid.IntRange(1, 5).Draw(t, "rf")
		moves := Moves(old, new, rf)
		for i := 1; i < len(moves); i++ {
			if moves[i].Range.End <= moves[i-1].Range.End {
				t.Fatalf("moves not ordered by End: %v", moves)
			}
		}
		for _, h := range positions(t, old, new) {
			from, to := sorted(old.ReplicasOf(h, rf)), sorted(new.ReplicasOf(h, rf))
			var in []Move
			for _, m := range moves {
				if m.Range.Contains(h) {
					in = append(in, m)
				}
			}
			switch {
			case len(in) > 1:
				t.Fatalf("position %#x is in %d moves: %v", h, len(in), in)
			case len(in) == 0 && !slices.Equal(from, to):
				t.Fatalf("position %#x moves %v -> %v but is in no move of %v", h, from, to, moves)
			case len(in) == 1 && (!slices.Equal(in[0].From, from) || !slices.Equal(in[0].To, to)):
				t.Fatalf("position %#x moves %v -> %v but is in move %v", h, from, to, in[0])
			}
		}
	})
}

// TestPropRangesMatchLookups checks Ranges against ReplicasOf: a node's
// ranges hold exactly the positions it replicates, each once.
func TestPropRangesMatchLookups(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		r := genRing(t, "ring")
		rf := rapid.IntRange(1, 5).Draw(t, "rf")
		id := rapid.SampledFrom(r.IDs()).Draw(t, "node")
		ranges := r.Ranges(id, rf)
		for _, h := range positions(t, r) {
			want := slices.Contains(r.ReplicasOf(h, rf), id)
			n := 0
			for _, g := range ranges {
				if g.Contains(h) {
					n++
				}
			}
			if n > 1 || (n == 1) != want {
				t.Fatalf("position %#x: node %d replicates it: %v; it lies in %d of %v", h, id, want, n, ranges)
			}
		}
	})
}

func TestPropEncodeRoundTrip(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		r := genRing(t, "ring")
		b := r.Encode()
		got, err := Decode(b)
		if err != nil {
			t.Fatalf("Decode(Encode(%v)): %v", r, err)
		}
		if !got.Equal(r) {
			t.Fatalf("Decode(Encode(%v)) = %v", r, got)
		}
		if !slices.Equal(got.Encode(), b) {
			t.Fatalf("re-encoding %v gives other bytes", r)
		}
	})
}
