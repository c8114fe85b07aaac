package movement

import (
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/memdb/memdb/net"
	"github.com/memdb/memdb/node/gossip"
	"github.com/memdb/memdb/node/stream"
	"github.com/memdb/memdb/node/view"
)

// The plans of a movement: who sends what to whom, computed from a view
// (and, for catch-up, from who is up). Maps are keyed by member; the node
// walks them in ascending key order.

// ErrTokenTaken is why a node whose explicit tokens another member holds
// stops before it joins.
var ErrTokenTaken = errors.New("token taken by another member")

// TokenTaken checks that no member of ms on the ring but self holds one of
// self's tokens (explicit ones another chose too, or its virtual ones that
// another's explicit ones hit).
func TokenTaken(self gossip.Member, ms []gossip.Member) error {
	mine := slices.Sorted(slices.Values(view.Tokens(self)))
	for _, m := range ms {
		if m.ID == self.ID || !m.OnRing() {
			continue
		}
		for _, t := range view.Tokens(m) {
			if _, ok := slices.BinarySearch(mine, t); ok {
				return fmt.Errorf("%w: node %d holds token %d; start this node with other -tokens", ErrTokenTaken, m.ID, t)
			}
		}
	}
	return nil
}

// Moving reports the first member on v's ring but self, in id order, that
// is joining or leaving.
func Moving(v view.View, self uint16) (uint16, bool) {
	for _, id := range v.OnRing() {
		if p := v.Phase(id); id != self && (p == view.Joining || p == view.Leaving) {
			return id, true
		}
	}
	return 0, false
}

// Confirmers are the members a ring confirmation asks: every member on v's
// ring but self and those being removed, in id order.
func Confirmers(v view.View, self uint16, removing map[uint16]bool) []uint16 {
	var others []uint16
	for _, id := range v.OnRing() {
		if id != self && !removing[id] {
			others = append(others, id)
		}
	}
	return others
}

// HandOff is what a leaving member self pushes to whom: each arc it
// replicates on the read ring, to every member that replicates it on the
// write ring and not on the read ring — or, if no member gains the arc,
// to every other member that replicates it.
func HandOff(v view.View, self uint16) map[uint16][]net.Span {
	byPeer := map[uint16][]net.Span{}
	for _, a := range v.Arcs() {
		if !slices.Contains(a.Read, self) {
			continue
		}
		gained := false
		for _, r := range a.Write {
			if !slices.Contains(a.Read, r) {
				byPeer[r] = stream.Append(byPeer[r], a.Span)
				gained = true
			}
		}
		if gained {
			continue
		}
		// No member gains the arc (no more members than replicas): the
		// remaining owners get it, or what the leaver alone holds (a
		// write acknowledged at one whose hint was lost) leaves with it
		// (churn 2711, PAPER bug 71).
		for _, r := range a.Write {
			if r != self {
				byPeer[r] = stream.Append(byPeer[r], a.Span)
			}
		}
	}
	return byPeer
}

// removedArcs groups the arcs member id replicates on v's read ring (the ring
// with it) by the member that gains each on the write ring (without it)
// and by their remaining owners, as Take requests (each gainer gets one
// per set of owners, in the order of the arcs), and lists the remaining
// owners' arcs, for Paxos repair. An arc id was the only owner of is lost:
// it has no Take.
func removedArcs(v view.View, id uint16) (takes map[uint16][]*net.Take, owners map[uint16][]net.Span) {
	takes = map[uint16][]*net.Take{}
	owners = map[uint16][]net.Span{}
	for _, a := range v.Arcs() {
		if !slices.Contains(a.Read, id) {
			continue
		}
		from := slices.Sorted(slices.Values(slices.DeleteFunc(slices.Clone(a.Read), func(o uint16) bool { return o == id })))
		for _, o := range from {
			owners[o] = append(owners[o], a.Span)
		}
		if len(from) == 0 {
			continue // it was the only owner: its data is lost
		}
		for _, g := range a.Write {
			if slices.Contains(a.Read, g) {
				continue
			}
			i := slices.IndexFunc(takes[g], func(t *net.Take) bool { return slices.Equal(t.From, from) })
			if i < 0 {
				takes[g] = append(takes[g], &net.Take{Epoch: v.Epoch, From: from})
				i = len(takes[g]) - 1
			}
			takes[g][i].Spans = stream.Append(takes[g][i].Spans, a.Span)
		}
	}
	return takes, owners
}

// A TakeAsk is one Take a remover asks of a gainer.
type TakeAsk struct {
	Gainer uint16
	Take   *net.Take
}

// Takes plans the removal of member id: the Takes to ask, by gainer in
// id order, and the remaining owners' arcs for Paxos repair. A member in
// removing (being removed too) is dead for good: as a gainer it takes
// nothing (its own removal hands its arcs on, from the owners that hold
// them), nor is it asked for its Paxos state.
func Takes(v view.View, id uint16, removing map[uint16]bool) ([]TakeAsk, map[uint16][]net.Span) {
	takes, owners := removedArcs(v, id)
	for o := range owners {
		if removing[o] {
			delete(owners, o)
		}
	}
	var asks []TakeAsk
	for _, g := range slices.Sorted(maps.Keys(takes)) {
		if removing[g] {
			continue
		}
		for _, t := range takes[g] {
			asks = append(asks, TakeAsk{g, t})
		}
	}
	return asks, owners
}

// Health is what catch-up knows of the members beyond the ring.
type Health struct {
	// Up reports whether a member is worth asking: not declared dead.
	Up func(id uint16) bool
	// Alive reports whether the failure detector holds it alive, not
	// even suspected.
	Alive func(id uint16) bool
}

// CatchUp is where member self pulls each arc it replicates on either of
// v's rings from: by source, the arcs to pull from it. missing reports an
// arc that has another owner but no source that is up (an arc self alone
// owns has nothing to pull).
func CatchUp(v view.View, self uint16, h Health, turn int) (byPeer map[uint16][]net.Span, missing bool) {
	byPeer = map[uint16][]net.Span{}
	for _, a := range v.Arcs() {
		if !slices.Contains(a.Read, self) && !slices.Contains(a.Write, self) {
			continue
		}
		src := Source(a.Read, self, h, turn)
		if src == 0 {
			if len(a.Read) > 1 || len(a.Read) == 1 && a.Read[0] != self {
				missing = true
			}
			continue
		}
		byPeer[src] = stream.Append(byPeer[src], a.Span)
	}
	return byPeer, missing
}

// Source picks the owner to pull an arc from: among those h holds alive
// (else those merely suspected), the first — or, after turn catch-ups
// that failed, the next ones in turn, so that an owner that keeps
// refusing (one rebuilding its own state, say) is not asked forever. None
// (0) if no owner but self is up.
func Source(owners []uint16, self uint16, h Health, turn int) uint16 {
	var alive, suspect []uint16
	for _, r := range owners {
		if r == self || !h.Up(r) {
			continue
		}
		if h.Alive(r) {
			alive = append(alive, r)
		} else {
			suspect = append(suspect, r)
		}
	}
	if len(alive) == 0 {
		alive = suspect
	}
	if len(alive) == 0 {
		return 0
	}
	return alive[turn%len(alive)]
}
