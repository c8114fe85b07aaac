package view

import (
	"slices"

	"github.com/memdb/memdb/node/gossip"
	"github.com/memdb/memdb/node/quorum"
	"github.com/memdb/memdb/node/ring"
)

// Tokens is where member m sits on the ring: its explicit tokens, or its
// virtual ones.
func Tokens(m gossip.Member) []uint64 {
	if len(m.Tokens) > 0 {
		return m.Tokens
	}
	return ring.VirtualTokens(m.ID, int(max(m.Vnodes, 1)))
}

// View is the picture of the cluster at one ring epoch: the ring reads use
// (members that own their ranges: normal and leaving), the ring writes go
// to as well (normal and joining), each member's phase on the ring and
// every member's address. The zero View has empty rings.
type View struct {
	// Epoch is the ring epoch the view was built at.
	Epoch uint64
	// Read and Write are the two rings.
	Read, Write ring.Ring
	rf          int
	addrs       map[uint16]string
	phase       map[uint16]Phase
}

// New builds the view at epoch from member records given in ascending id
// order (as gossip.Members gives them), with rf replicas per key. Only a
// record's id, address, ring version and tokens (explicit, or its count of
// virtual ones) count.
func New(epoch uint64, rf int, ms []gossip.Member) View {
	v := View{Epoch: epoch, rf: rf, addrs: make(map[uint16]string, len(ms)), phase: make(map[uint16]Phase, len(ms))}
	var rd, wr []ring.Member
	taken, total := map[uint64]bool{}, 0
	// Two members may name one token (explicit tokens an operator chose
	// twice: a join refuses that, but a record may already be out). Members
	// that own their ranges claim tokens first, then joining ones, each in
	// id order, on every node alike: a joining member never takes a token
	// from one that holds the data. A member left with no token, or past
	// the ring's capacity, is off the ring.
	for _, owning := range []bool{true, false} {
		for _, m := range ms {
			p := PhaseOf(m.Ring)
			if p == None || p == Left || (p == Joining) == owning {
				continue
			}
			var tokens []uint64
			for _, t := range Tokens(m) {
				if !taken[t] {
					taken[t] = true
					tokens = append(tokens, t)
				}
			}
			if len(tokens) == 0 || total+len(tokens) > ring.MaxRingTokens {
				continue
			}
			total += len(tokens)
			v.phase[m.ID] = p
			rm := ring.Member{ID: m.ID, Tokens: tokens}
			if p == Normal || p == Leaving {
				rd = append(rd, rm)
			}
			if p == Normal || p == Joining {
				wr = append(wr, rm)
			}
		}
	}
	for _, m := range ms {
		v.addrs[m.ID] = m.Addr
	}
	var err error
	if v.Read, err = ring.New(epoch, rd); err != nil {
		panic("view: building the read ring from gossip: " + err.Error())
	}
	if v.Write, err = ring.New(epoch, wr); err != nil {
		panic("view: building the write ring from gossip: " + err.Error())
	}
	return v
}

// RF is the replication factor: replicas per key.
func (v View) RF() int { return v.rf }

// Addr is where member id listens ("" if the view has no record of it).
func (v View) Addr(id uint16) string { return v.addrs[id] }

// OnRing is every member with a place on either ring, in ascending id
// order (Phase gives each one's phase).
func (v View) OnRing() []uint16 {
	ids := make([]uint16, 0, len(v.phase))
	for id := range v.phase {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// Phase is member id's phase on the ring: None if it has no place on
// either ring.
func (v View) Phase(id uint16) Phase { return v.phase[id] }

// Replicas is key's preference list on the read ring.
func (v View) Replicas(key []byte) []uint16 { return v.Read.Replicas(key, v.rf) }

// Replicates reports whether id is among key's replicas on the read ring
// or the write ring (in Groups(key).All()), without allocating: a walk of
// every key (the forgetting of keys a node no longer replicates) asks it
// of millions.
func (v View) Replicates(key []byte, id uint16) bool {
	var buf [16]uint16
	h := ring.Hash(key)
	read := v.Read.AppendReplicasOf(buf[:0], h, v.rf)
	if len(read) == 0 {
		return false // no group at all, as in Groups
	}
	return slices.Contains(read, id) || slices.Contains(v.Write.AppendReplicasOf(buf[:0], h, v.rf), id)
}

// Groups are the replica sets a request must satisfy for key: the
// replicas on the read ring and, while a member joins or leaves, those on
// the write ring too, if they differ. A request needs its level's count
// from each group (joint quorums, as in a joint-consensus configuration
// change), so a request made on either side of a ring change meets any
// other made on either side. With no member owning its ranges yet (a
// joining node that has not heard from the cluster) there is no group.
func (v View) Groups(key []byte) quorum.Joint {
	// Both lists share one array, and the groups another: a request's two
	// allocations here (issue 17). The old group is capped, so appending
	// to it cannot run into the next.
	h := ring.Hash(key)
	ids := v.Read.AppendReplicasOf(make([]uint16, 0, 2*v.rf), h, v.rf)
	if len(ids) == 0 {
		return nil
	}
	old := ids[:len(ids):len(ids)]
	next := v.Write.AppendReplicasOf(ids, h, v.rf)[len(old):]
	gs := make(quorum.Joint, 1, 2)
	gs[0] = old
	if len(next) > 0 && !sameSet(old, next) {
		gs = append(gs, next)
	}
	return gs
}

// sameSet reports whether a and b, each without repeats (a preference
// list), hold the same ids.
func sameSet(a, b []uint16) bool {
	if len(a) != len(b) {
		return false
	}
	for _, id := range a {
		if !slices.Contains(b, id) {
			return false
		}
	}
	return true
}
