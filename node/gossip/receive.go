package gossip

import (
	"fmt"
	"slices"
	"time"
)

// Receive handles a payload that node from sent, at time now, and returns
// the answers due: an ack for a ping, a relayed ping for a ping-req, a
// relayed ack for an indirect probe, a push-pull reply for a push-pull.
// Every record the payload carries, the sender's own first, is merged by the
// merge rule; a record about this node that beats its own is refuted.
//
// from is the sender's node id as the transport authenticated it, or 0 if
// unknown. A payload that cannot be decoded, or whose sender record names
// another node than from (or this node), is dropped whole and reported by
// an error wrapping ErrMalformed, ErrVersion or ErrSender; nothing in it is
// applied. Before Start, payloads are checked and otherwise ignored.
func (g *Gossip) Receive(now time.Duration, from uint16, payload []byte) ([]Out, error) {
	msg, err := decode(payload)
	if err != nil {
		return nil, fmt.Errorf("gossip from node %d: %w", from, err)
	}
	if from != 0 && msg.from.ID != from {
		return nil, fmt.Errorf("%w: node %d sent a %v signed by node %d", ErrSender, from, msg.kind, msg.from.ID)
	}
	if msg.from.ID == g.self.m.ID {
		return nil, fmt.Errorf("%w: a %v from %s claims this node's id %d", ErrSender, msg.kind, msg.from.Addr, msg.from.ID)
	}
	if !g.started {
		return nil, nil
	}
	g.apply(now, msg.from)
	for _, m := range msg.members {
		g.apply(now, m)
	}
	sender := msg.from.ID
	switch msg.kind {
	case kindPing:
		if msg.target != g.self.m.ID {
			return nil, nil // meant for a node that had this address before
		}
		return []Out{g.send(sender, &message{kind: kindAck, seq: msg.seq, target: msg.target})}, nil
	case kindAck:
		return g.ack(msg), nil
	case kindPingReq:
		return g.pingReq(now, sender, msg), nil
	case kindPushPull:
		return []Out{g.send(sender, &message{kind: kindPushPullResp, seq: msg.seq, members: g.Members()})}, nil
	case kindPushPullResp:
		if msg.seq != 0 && slices.Contains(g.seedSeqs, msg.seq) {
			g.joined = true
			g.seedSeqs = nil
		}
	}
	return nil, nil
}

// ack completes the probe in flight if msg answers it, and forwards msg to
// the origin of a ping-req this node relayed.
func (g *Gossip) ack(msg message) []Out {
	if p := &g.probe; p.active && p.seq == msg.seq && p.target == msg.target {
		p.active = false
	}
	for i, r := range g.relays {
		if r.seq == msg.seq && r.target == msg.target {
			g.relays = append(g.relays[:i], g.relays[i+1:]...)
			if _, ok := g.members[r.origin]; !ok {
				return nil
			}
			return []Out{g.send(r.origin, &message{kind: kindAck, seq: r.originSeq, target: r.target})}
		}
	}
	return nil
}

// pingReq probes msg.target on behalf of origin: a ping under this node's
// own sequence number, remembered so that the ack is relayed.
func (g *Gossip) pingReq(now time.Duration, origin uint16, msg message) []Out {
	if msg.target == g.self.m.ID {
		return []Out{g.send(origin, &message{kind: kindAck, seq: msg.seq, target: msg.target})}
	}
	if _, ok := g.members[msg.target]; !ok {
		return nil
	}
	g.seq++
	g.relays = append(g.relays, relay{seq: g.seq, target: msg.target, origin: origin, originSeq: msg.seq, until: now + g.cfg.ProbeInterval})
	return []Out{g.send(msg.target, &message{kind: kindPing, seq: g.seq, target: msg.target})}
}
