package node

import (
	"fmt"
	"time"

	"github.com/memdb/memdb/net"
	"github.com/memdb/memdb/node/movement"
	"github.com/memdb/memdb/node/stream"
	"github.com/memdb/memdb/node/view"
)

// The node's side of anti-entropy: rounds, comparisons and pulls.
// node/stream has the design and the digests.

// antiEntropy runs one round and schedules the next.
func (n *Node) antiEntropy() {
	if n.stopped {
		return
	}
	n.scheduleAntiEntropy()
	if n.err != nil || n.phase() != view.Normal {
		return
	}
	n.repairAll()
}

// repairAll compares this node's arcs with every replica it shares some
// with.
func (n *Node) repairAll() {
	if n.stopped || n.err != nil || n.phase() != view.Normal {
		return
	}
	shared := n.sharedArcs(false)
	for _, p := range sortedKeys(shared) {
		n.compare(p, shared[p], func(bool) {})
	}
}

// compareAll compares the arcs in shared (owner → arcs) with each owner
// and pulls what differs; done hears whether every comparison (and pull)
// succeeded.
func (n *Node) compareAll(shared map[uint16][]net.Span, done func(ok bool)) {
	movement.All(sortedKeys(shared), func(p uint16, done func(bool)) { n.compare(p, shared[p], done) }, done)
}

// compare asks peer for its digests of spans, pulls those that differ
// from this node's, and tells done whether it got the digests and any pull
// it made succeeded.
func (n *Node) compare(peer uint16, spans []net.Span, done func(ok bool)) {
	n.stats.RepairRounds++
	n.env.Log.Debug("anti-entropy: comparing", "peer", peer, "arcs", len(spans))
	mine := stream.Digests(n.store, spans)
	isReply := func(m net.Message) bool { _, ok := m.(*net.DigestReply); return ok }
	n.askAgain(peer, &net.Digest{Epoch: n.view.Epoch, Spans: spans}, isReply, func(m net.Message) {
		r, ok := m.(*net.DigestReply)
		if !ok || len(r.Sums) != len(spans) {
			n.env.Log.Debug("anti-entropy: no digest", "peer", peer, "answer", describeAnswer(m))
			done(false)
			return
		}
		var differ []net.Span
		for i, s := range spans {
			if r.Sums[i] != mine[i] {
				differ = append(differ, s)
			}
		}
		if len(differ) == 0 {
			done(true)
			return
		}
		n.stats.RepairArcs += uint64(len(differ))
		n.probe(ProbeRepairArcsDiffer)
		n.env.Log.Info("anti-entropy: replicas differ; pulling", "peer", peer, "arcs", len(differ), "of", len(spans))
		n.pull(peer, differ, nil, done)
	})
}

// scheduleAntiEntropy arms the next round: the interval, give or take a
// quarter, so that nodes do not all compare at once.
func (n *Node) scheduleAntiEntropy() {
	d := n.cfg.AntiEntropy
	if d <= 0 {
		return
	}
	d += d/4 - time.Duration(n.env.Rand.Int64N(int64(d/2)+1))
	n.env.Clock.AfterFunc(d, n.antiEntropy)
}

// sharedArcs is, for each other member that owns some of the arcs this
// node owns — or, if taking, will own once its join is done — those arcs,
// but for members the failure detector has declared dead. Suspected ones
// are included: a movement waits for an owner that may be back soon
// rather than miss the only other copy of a value; one that is dead
// would block every movement — its own removal included — for good.
func (n *Node) sharedArcs(taking bool) map[uint16][]net.Span {
	shared := n.ownersOf(taking)
	for _, id := range sortedKeys(shared) {
		if !n.up(id) {
			delete(shared, id)
		}
	}
	return shared
}

// ownersOf is sharedArcs with every owner, dead or not.
func (n *Node) ownersOf(taking bool) map[uint16][]net.Span {
	return n.view.Shared(uint16(n.cfg.ID), taking)
}

// digestFrom answers a peer's Digest, unless the peer is on another ring
// (its arcs are not this node's).
func (n *Node) digestFrom(from uint16, id uint64, m *net.Digest) {
	if n.otherRing(from, id, m.Epoch) {
		return
	}
	n.send(from, id, &net.DigestReply{Sums: stream.Digests(n.store, m.Spans)})
}

// otherRing refuses a request about arcs made at another ring epoch than
// this node's (the two cut the ring differently) and reports whether it
// did; both sides exchange membership.
func (n *Node) otherRing(from uint16, id uint64, epoch uint64) bool {
	if epoch == n.view.Epoch {
		return false
	}
	n.sendGossip(n.gossip.SyncWith(from))
	n.send(from, id, &net.Error{Code: net.CodeUnavailable, Message: fmt.Sprintf("node %d is at ring epoch %d, not the %d asked at", n.cfg.ID, n.view.Epoch, epoch)})
	return true
}
