package gossip

import (
	"cmp"
	"slices"

	"github.com/memdb/memdb/net"
)

// send encodes msg to member id, which must be known: this node's own
// record rides in every message, and ping, ack and ping-req piggyback
// updates.
func (g *Gossip) send(id uint16, msg *message) Out {
	if msg.kind != kindPushPull && msg.kind != kindPushPullResp {
		msg.members = g.piggyback(id)
	}
	return Out{To: net.Peer{ID: net.NodeID(id), Addr: g.members[id].m.Addr}, Payload: g.encode(msg)}
}

// sendAddr encodes msg to a seed known only by its address.
func (g *Gossip) sendAddr(addr string, msg *message) Out {
	return Out{To: net.Peer{Addr: addr}, Payload: g.encode(msg)}
}

func (g *Gossip) encode(msg *message) []byte {
	msg.from = g.self.m
	return msg.encode(nil)
}

// pushPull sends this node's full state to member id, which answers with
// its own.
func (g *Gossip) pushPull(id uint16) Out {
	return g.send(id, &message{kind: kindPushPull, members: g.Members()})
}

// piggyback picks the updates that ride on a message to member to: the
// PiggybackMax queued records sent least often so far (lower ids first among
// equals), each of which then counts one more transmission and leaves the
// queue after Retransmits. A record saying that the receiver itself is not
// Alive rides too, outside the count, so that a suspected member hears of it
// from whoever still talks to it, and refutes.
func (g *Gossip) piggyback(to uint16) []Member {
	g.pending = slices.DeleteFunc(g.pending, func(e *entry) bool { return !e.queued })
	slices.SortFunc(g.pending, func(a, b *entry) int {
		if c := cmp.Compare(a.transmits, b.transmits); c != 0 {
			return c
		}
		return cmp.Compare(a.m.ID, b.m.ID)
	})
	limit := 0
	var ms []Member
	about := false
	for _, e := range g.pending {
		if len(ms) == g.cfg.PiggybackMax {
			break
		}
		if limit == 0 {
			limit = g.cfg.Retransmits(g.population())
		}
		ms = append(ms, e.m)
		about = about || e.m.ID == to
		e.transmits++
		if e.transmits >= limit {
			e.queued = false
		}
	}
	if e, ok := g.members[to]; ok && !about && e.m.State != Alive {
		ms = append(ms, e.m)
	}
	return ms
}
