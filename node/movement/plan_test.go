package movement

import (
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/memdb/memdb/net"
	"github.com/memdb/memdb/node/gossip"
	"github.com/memdb/memdb/node/stream"
	"github.com/memdb/memdb/node/view"
	"pgregory.net/rapid"
)

func member(id uint16, p view.Phase, vnodes uint16) gossip.Member {
	return gossip.Member{ID: id, Addr: fmt.Sprintf("n%d", id), Ring: view.NextVersion(0, p), Vnodes: vnodes}
}

// cluster draws a view of 2 to 6 members, at most one of them moving
// (movements run one at a time), and returns it with its members.
func cluster(t *rapid.T) (view.View, []gossip.Member) {
	n := rapid.IntRange(2, 6).Draw(t, "members")
	moving := rapid.IntRange(0, n).Draw(t, "moving") // n: none
	phase := rapid.SampledFrom([]view.Phase{view.Joining, view.Leaving}).Draw(t, "phase")
	var ms []gossip.Member
	for i := range n {
		p := view.Normal
		if i == moving {
			p = phase
		}
		ms = append(ms, member(uint16(i+1), p, uint16(rapid.IntRange(1, 4).Draw(t, fmt.Sprint("vnodes", i+1)))))
	}
	rf := rapid.IntRange(1, 3).Draw(t, "rf")
	return view.New(uint64(rapid.IntRange(1, 100).Draw(t, "epoch")), rf, ms), ms
}

// in reports whether arc a is among spans (arcs cut the ring at every
// token, so spans made of arcs hold an arc iff they hold its end).
func in(spans []net.Span, a view.Arc) bool { return stream.Contains(spans, a.Span.End) }

// A leaving member pushes every arc it replicates to every member that
// gains it, and nothing else to anyone.
func TestHandOffGivesEveryArcToEveryGainer(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		v, ms := cluster(t)
		self := rapid.SampledFrom(ms).Draw(t, "self").ID
		byPeer := HandOff(v, self)
		for _, a := range v.Arcs() {
			for _, m := range ms {
				gainer := slices.ContainsFunc(a.Write, func(r uint16) bool { return !slices.Contains(a.Read, r) })
				want := slices.Contains(a.Read, self) && slices.Contains(a.Write, m.ID) && m.ID != self && (!slices.Contains(a.Read, m.ID) || !gainer)
				if got := in(byPeer[m.ID], a); got != want {
					t.Fatalf("arc %v (read %v, write %v): pushed to %d %v, want %v", a.Span, a.Read, a.Write, m.ID, got, want)
				}
			}
		}
	})
}

// A removal asks, of every member that gains an arc the removed member
// owned, a Take of it from the remaining owners (never from the gainer
// itself nor the removed member), and repairs Paxos on every arc of every
// remaining owner; members being removed too take and are asked nothing.
func TestTakesAskEveryGainerFromTheRemainingOwners(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		n := rapid.IntRange(2, 6).Draw(t, "members")
		var ms []gossip.Member
		for i := range n {
			ms = append(ms, member(uint16(i+1), view.Normal, uint16(rapid.IntRange(1, 4).Draw(t, fmt.Sprint("vnodes", i+1)))))
		}
		gone := uint16(rapid.IntRange(1, n).Draw(t, "removed"))
		ms[gone-1] = member(gone, view.Leaving, ms[gone-1].Vnodes)
		removing := map[uint16]bool{gone: true}
		for _, m := range ms {
			if rapid.IntRange(0, 5).Draw(t, fmt.Sprint("removing", m.ID)) == 0 {
				removing[m.ID] = true
			}
		}
		v := view.New(7, rapid.IntRange(1, 3).Draw(t, "rf"), ms)
		asks, owners := Takes(v, gone, removing)
		for i, k := range asks {
			if k.Take.Epoch != v.Epoch || slices.Contains(k.Take.From, k.Gainer) || slices.Contains(k.Take.From, gone) || removing[k.Gainer] {
				t.Fatalf("ask %d: %d asked %+v (epoch %d, removing %v)", i, k.Gainer, k.Take, v.Epoch, removing)
			}
			if i > 0 && asks[i-1].Gainer > k.Gainer {
				t.Fatalf("asks out of gainer order: %v", asks)
			}
		}
		for _, a := range v.Arcs() {
			from := slices.DeleteFunc(slices.Clone(a.Read), func(o uint16) bool { return o == gone })
			slices.Sort(from)
			owned := slices.Contains(a.Read, gone)
			for _, m := range ms {
				gains := owned && len(from) > 0 && slices.Contains(a.Write, m.ID) && !slices.Contains(a.Read, m.ID) && !removing[m.ID]
				var got [][]uint16
				for _, k := range asks {
					if k.Gainer == m.ID && in(k.Take.Spans, a) {
						got = append(got, k.Take.From)
					}
				}
				switch {
				case gains && (len(got) != 1 || !slices.Equal(got[0], from)):
					t.Fatalf("arc %v (read %v, write %v): %d gains it and is asked it from %v, want once from %v", a.Span, a.Read, a.Write, m.ID, got, from)
				case !gains && len(got) > 0:
					t.Fatalf("arc %v (read %v, write %v): %d does not gain it and is asked it from %v", a.Span, a.Read, a.Write, m.ID, got)
				}
				repairs := owned && slices.Contains(from, m.ID) && !removing[m.ID]
				if got := in(owners[m.ID], a); got != repairs {
					t.Fatalf("arc %v (read %v): Paxos repair asks %d %v, want %v", a.Span, a.Read, m.ID, got, repairs)
				}
			}
		}
	})
}

// Catch-up pulls each arc a member replicates on either ring from one of
// its owners that is up — one held alive, if any is — and reports as
// missing an arc with another owner of which none is up.
func TestCatchUpAsksAnOwnerThatIsUp(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		v, ms := cluster(t)
		self := rapid.SampledFrom(ms).Draw(t, "self").ID
		state := map[uint16]gossip.State{}
		for _, m := range ms {
			state[m.ID] = rapid.SampledFrom([]gossip.State{gossip.Alive, gossip.Suspect, gossip.Dead}).Draw(t, fmt.Sprint("state", m.ID))
		}
		h := Health{
			Up:    func(id uint16) bool { return id == self || state[id] != gossip.Dead },
			Alive: func(id uint16) bool { return state[id] == gossip.Alive },
		}
		turn := rapid.IntRange(0, 5).Draw(t, "turn")
		byPeer, missing := CatchUp(v, self, h, turn)
		wantMissing := false
		for _, a := range v.Arcs() {
			var from []uint16
			for p, spans := range byPeer {
				if in(spans, a) {
					from = append(from, p)
				}
			}
			if !slices.Contains(a.Read, self) && !slices.Contains(a.Write, self) {
				if len(from) > 0 {
					t.Fatalf("arc %v (read %v, write %v) is not %d's, and is pulled from %v", a.Span, a.Read, a.Write, self, from)
				}
				continue
			}
			var up, alive []uint16
			for _, o := range a.Read {
				if o != self && h.Up(o) {
					up = append(up, o)
					if h.Alive(o) {
						alive = append(alive, o)
					}
				}
			}
			switch {
			case len(up) == 0:
				if len(from) > 0 {
					t.Fatalf("arc %v: no owner up, pulled from %v", a.Span, from)
				}
				if slices.ContainsFunc(a.Read, func(o uint16) bool { return o != self }) {
					wantMissing = true
				}
			case len(from) != 1:
				t.Fatalf("arc %v (read %v, states %v): pulled from %v, want one owner", a.Span, a.Read, state, from)
			case len(alive) > 0 && !slices.Contains(alive, from[0]), !slices.Contains(up, from[0]):
				t.Fatalf("arc %v (read %v, states %v): pulled from %d, want one of %v (alive) or %v (up)", a.Span, a.Read, state, from[0], alive, up)
			}
		}
		if missing != wantMissing {
			t.Fatalf("missing %v, want %v", missing, wantMissing)
		}
	})
}

func TestSource(t *testing.T) {
	state := map[uint16]gossip.State{1: gossip.Alive, 2: gossip.Suspect, 3: gossip.Alive, 4: gossip.Dead, 5: gossip.Suspect}
	h := Health{
		Up:    func(id uint16) bool { return id == 1 || state[id] != gossip.Dead },
		Alive: func(id uint16) bool { return state[id] == gossip.Alive },
	}
	for _, c := range []struct {
		owners []uint16
		turn   int
		want   uint16
	}{
		{[]uint16{1, 2, 3}, 0, 3}, // the first alive, never self
		{[]uint16{1, 3, 2}, 1, 3}, // one alive: every turn
		{[]uint16{2, 5, 4}, 0, 2}, // only suspects: the first
		{[]uint16{2, 5, 4}, 1, 5}, // then the next
		{[]uint16{2, 5, 4}, 2, 2}, // and round again
		{[]uint16{1, 4}, 0, 0},    // none up but self
		{nil, 0, 0},               // no owner
	} {
		if got := Source(c.owners, 1, h, c.turn); got != c.want {
			t.Errorf("Source(%v, turn %d) = %d, want %d", c.owners, c.turn, got, c.want)
		}
	}
}

func TestConfirmersAndMoving(t *testing.T) {
	v := view.New(3, 2, []gossip.Member{member(1, view.Normal, 2), member(2, view.Normal, 2), member(3, view.Joining, 2), {ID: 4, Addr: "n4", Vnodes: 2}, member(5, view.Normal, 2)})
	if diff := cmp.Diff([]uint16{2, 3}, Confirmers(v, 1, map[uint16]bool{5: true})); diff != "" {
		t.Errorf("confirmers (-want +got):\n%s", diff)
	}
	if id, ok := Moving(v, 1); !ok || id != 3 {
		t.Errorf("Moving = %d, %v; want 3, true", id, ok)
	}
	if id, ok := Moving(v, 3); ok {
		t.Errorf("Moving, seen by the mover itself = %d, true; want none", id)
	}
}

func TestTokenTaken(t *testing.T) {
	self := gossip.Member{ID: 1, Tokens: []uint64{42, 7}}
	for _, c := range []struct {
		name  string
		ms    []gossip.Member
		taken bool
	}{
		{"alone", []gossip.Member{self}, false},
		{"no token shared", []gossip.Member{self, {ID: 2, Ring: 3, Tokens: []uint64{8, 9}}}, false},
		{"shared by one that left", []gossip.Member{self, {ID: 3, Ring: 6, State: gossip.Left, Tokens: []uint64{42}}}, false},
		{"shared by one off the ring", []gossip.Member{self, {ID: 3, Tokens: []uint64{42}}}, false},
		{"shared by a joining one", []gossip.Member{self, {ID: 4, Ring: 1, Tokens: []uint64{7}}}, true},
	} {
		err := TokenTaken(self, c.ms)
		if got := errors.Is(err, ErrTokenTaken); got != c.taken {
			t.Errorf("%s: %v, want taken %v", c.name, err, c.taken)
		}
	}
}
