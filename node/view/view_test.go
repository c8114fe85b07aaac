package view

import (
	"fmt"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/memdb/memdb/net"
	"github.com/memdb/memdb/node/gossip"
	"github.com/memdb/memdb/node/ring"
	"pgregory.net/rapid"
)

func TestPhaseCycle(t *testing.T) {
	var got []string
	v := uint32(0)
	for _, p := range []Phase{Joining, Normal, Leaving, Left, Joining, Normal} {
		v = NextVersion(v, p)
		got = append(got, fmt.Sprintf("%d:%v", v, PhaseOf(v)))
	}
	want := []string{"1:joining", "3:normal", "5:leaving", "6:left", "7:joining", "9:normal"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("phase cycle (-want +got):\n%s", diff)
	}
	if PhaseOf(0) != None || PhaseOf(4) != Left || PhaseOf(2) != Left {
		t.Errorf("PhaseOf(0, 4, 2) = %v, %v, %v; want none, left, left", PhaseOf(0), PhaseOf(4), PhaseOf(2))
	}
}

// Every change of phase raises the version: gossip merges by maximum, so a
// later phase always wins.
func TestNextVersionRises(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		v := rapid.Uint32Range(0, 1<<20).Draw(t, "v")
		p := rapid.SampledFrom([]Phase{Joining, Normal, Leaving, Left}).Draw(t, "p")
		w := NextVersion(v, p)
		if w <= v || PhaseOf(w) != p {
			t.Fatalf("NextVersion(%d, %v) = %d (%v)", v, p, w, PhaseOf(w))
		}
	})
}

func member(id uint16, p Phase, tokens ...uint64) gossip.Member {
	return gossip.Member{ID: id, Addr: fmt.Sprintf("n%d", id), Ring: NextVersion(0, p), Tokens: tokens}
}

// Explicit tokens place a member where they say; when two members name one
// token the lower id keeps it on every node, and a member left with none is
// off the ring.
func TestExplicitTokens(t *testing.T) {
	ms := []gossip.Member{member(1, Normal, 100, 200), member(2, Normal, 200, 300), member(3, Normal, 100)}
	v := New(9, 3, ms)
	if got := v.Read.IDs(); !slices.Equal(got, []uint16{1, 2}) {
		t.Fatalf("read ring %v, want [1 2] (node 3's only token is node 1's)", got)
	}
	if v.Phase(3) != None || slices.Contains(v.OnRing(), 3) {
		t.Error("node 3, with no token left, has a phase on the ring")
	}
	if v.Addr(3) != "n3" {
		t.Errorf("Addr(3) = %q: a member off the ring still has an address", v.Addr(3))
	}
}

// A joining member claims no token a member that owns its ranges holds,
// whatever their ids.
func TestJoinerYieldsTokens(t *testing.T) {
	v := New(1, 1, []gossip.Member{member(1, Joining, 100, 500), member(2, Normal, 100)})
	if got := v.Write.Members(); len(got) != 2 || !slices.Equal(got[0].Tokens, []uint64{500}) || !slices.Equal(got[1].Tokens, []uint64{100}) {
		t.Fatalf("write ring members %v: the joiner took a token of a normal member", got)
	}
}

// The rings and groups through a join and a leave: a joining member is on
// the write ring only, a leaving one on the read ring only, and a key's
// groups are both rings' replicas while they differ.
func TestGroups(t *testing.T) {
	const q = 1 << 62 // tokens a quarter of the ring apart
	key := []byte("k")
	tests := []struct {
		name        string
		ms          []gossip.Member
		read, write []uint16
		groups      int
	}{
		{"no one on the ring", []gossip.Member{member(1, Joining, q)}, nil, []uint16{1}, 0},
		{"steady", []gossip.Member{member(1, Normal, q), member(2, Normal, 2*q)}, []uint16{1, 2}, []uint16{1, 2}, 1},
		{"joining", []gossip.Member{member(1, Normal, q), member(2, Normal, 2*q), member(3, Joining, 3*q)}, []uint16{1, 2}, []uint16{1, 2, 3}, 2},
		{"leaving", []gossip.Member{member(1, Normal, q), member(2, Normal, 2*q), member(3, Leaving, 3*q)}, []uint16{1, 2, 3}, []uint16{1, 2}, 2},
		{"left", []gossip.Member{member(1, Normal, q), member(2, Normal, 2*q), member(3, Left, 3*q)}, []uint16{1, 2}, []uint16{1, 2}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := New(1, 2, tt.ms)
			if got := v.Read.IDs(); !slices.Equal(got, tt.read) {
				t.Errorf("read ring %v, want %v", got, tt.read)
			}
			if got := v.Write.IDs(); !slices.Equal(got, tt.write) {
				t.Errorf("write ring %v, want %v", got, tt.write)
			}
			// With rf 2 of 3 on the ring, some key's replica sets differ
			// while a member moves; find one.
			gs := v.Groups(key)
			for i := 0; tt.groups == 2 && len(gs) < 2 && i < 1000; i++ {
				key = fmt.Appendf(nil, "k%d", i)
				gs = v.Groups(key)
			}
			if len(gs) != tt.groups {
				t.Fatalf("Groups(%q) = %v, want %d groups", key, gs, tt.groups)
			}
			if len(gs) > 0 && !slices.Equal(gs[0], v.Replicas(key)) {
				t.Errorf("first group %v is not the read replicas %v", gs[0], v.Replicas(key))
			}
		})
	}
}

// drawView draws a view of 1 to 6 members in any phase, with 1 to 8
// vnodes each, at rf 1 to 4, as node 1 sees it; and the members' count.
func drawView(t *rapid.T) (View, uint16) {
	var ms []gossip.Member
	members := rapid.Uint16Range(1, 6).Draw(t, "members")
	for id := uint16(1); id <= members; id++ {
		p := rapid.SampledFrom([]Phase{Joining, Normal, Normal, Leaving}).Draw(t, "phase")
		ms = append(ms, gossip.Member{ID: id, Addr: "a", Ring: NextVersion(0, p), Vnodes: rapid.Uint16Range(1, 8).Draw(t, "vnodes")})
	}
	return New(1, rapid.IntRange(1, 4).Draw(t, "rf"), ms), members
}

// Arcs cover the ring once, in order, each with a key's replicas: a key in
// an arc has the arc's replicas on both rings.
func TestArcsCoverTheRing(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		v, _ := drawView(t)
		rf := v.rf
		as := v.Arcs()
		for i, a := range as {
			if next := as[(i+1)%len(as)]; next.Span.Start != a.Span.End {
				t.Fatalf("arc %d ends at %d, arc %d starts at %d", i, a.Span.End, i+1, next.Span.Start)
			}
		}
		key := []byte(rapid.StringN(1, 8, 8).Draw(t, "key"))
		h := ring.Hash(key)
		for _, a := range as {
			if !(ring.Range{Start: a.Span.Start, End: a.Span.End}).Contains(h) {
				continue
			}
			if want := v.Read.Replicas(key, rf); !slices.Equal(a.Read, want) {
				t.Fatalf("key %q (hash %d) in arc %v: read replicas %v, want %v", key, h, a.Span, a.Read, want)
			}
			if want := v.Write.Replicas(key, rf); !slices.Equal(a.Write, want) {
				t.Fatalf("key %q in arc %v: write replicas %v, want %v", key, a.Span, a.Write, want)
			}
		}
	})
}

// Shared lists, for each other owner, the arcs it has in common with a
// member: taking, the arcs the member will own once it has joined.
func TestShared(t *testing.T) {
	ms := []gossip.Member{member(1, Normal, 100), member(2, Normal, 200), member(3, Joining, 300)}
	v := New(1, 1, ms)
	// rf 1: node 3 takes (200, 300] from node 1, which owns (200, 100].
	if got := v.Shared(3, false); len(got) != 0 {
		t.Errorf("Shared(3, owning) = %v: a joining member owns nothing yet", got)
	}
	want := map[uint16][]net.Span{1: {{Start: 200, End: 300}}}
	if diff := cmp.Diff(want, v.Shared(3, true)); diff != "" {
		t.Errorf("Shared(3, taking) (-want +got):\n%s", diff)
	}
	if got := v.Shared(1, false); len(got) != 0 {
		t.Errorf("Shared(1) = %v with rf 1: no one shares its arcs", got)
	}
}

// Groups is the read ring's replicas, then the write ring's when they are
// not the same set; appending to a group does not touch the other; and it
// makes two allocations.
func TestGroupsProperty(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		v, _ := drawView(t)
		key := []byte(rapid.StringN(1, 8, 8).Draw(t, "key"))
		old, next := v.Read.Replicas(key, v.rf), v.Write.Replicas(key, v.rf)
		var want [][]uint16
		if len(old) > 0 {
			want = append(want, old)
			a, b := slices.Sorted(slices.Values(old)), slices.Sorted(slices.Values(next))
			if len(next) > 0 && !slices.Equal(a, b) {
				want = append(want, next)
			}
		}
		gs := v.Groups(key)
		if len(gs) != len(want) {
			t.Fatalf("Groups = %v, want %v", gs, want)
		}
		for i := range want {
			if !slices.Equal(gs[i], want[i]) {
				t.Fatalf("Groups = %v, want %v", gs, want)
			}
		}
		if len(gs) == 2 {
			second := slices.Clone(gs[1])
			_ = append(gs[0], 99, 99, 99, 99)
			if !slices.Equal(gs[1], second) {
				t.Fatalf("appending to the first group changed the second: %v, was %v", gs[1], second)
			}
		}
	})
	v := New(1, 3, []gossip.Member{member(1, Normal, 1<<62), member(2, Normal, 2<<62), member(3, Joining, 3<<62)})
	key := []byte("key")
	if n := testing.AllocsPerRun(100, func() { v.Groups(key) }); n > 2 {
		t.Errorf("Groups makes %v allocations, want 2", n)
	}
}

// Replicates is membership in Groups' union, on any ring and key, and
// allocates nothing.
func TestReplicates(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		v, members := drawView(t)
		key := []byte(rapid.String().Draw(t, "key"))
		id := rapid.Uint16Range(1, members+1).Draw(t, "id")
		if got, want := v.Replicates(key, id), slices.Contains(v.Groups(key).All(), id); got != want {
			t.Fatalf("Replicates(%q, %d) = %v; Groups %v", key, id, got, v.Groups(key))
		}
	})
	v := New(1, 3, []gossip.Member{member(1, Normal, 1<<62), member(2, Normal, 2<<62), member(3, Joining, 3<<62)})
	key := []byte("key")
	if n := testing.AllocsPerRun(100, func() { v.Replicates(key, 3) }); n != 0 {
		t.Errorf("Replicates makes %v allocations, want 0", n)
	}
}
