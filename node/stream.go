package node

import (
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/memdb/memdb/clock"
	"github.com/memdb/memdb/net"
	"github.com/memdb/memdb/node/gossip"
	"github.com/memdb/memdb/node/movement"
	"github.com/memdb/memdb/node/store"
	"github.com/memdb/memdb/node/stream"
	"github.com/memdb/memdb/node/view"
)

// The node's side of streaming and anti-entropy: where it pulls from,
// when it compares, and what it records of a comparison. node/stream has
// the design and the protocols (stream.Driver), which reach the node
// through streamer.

// streamer is the node as its stream.Driver sees it.
type streamer struct{ n *Node }

var _ stream.Node = streamer{}

func (s streamer) Epoch() uint64 { return s.n.view.Epoch }
func (s streamer) Ask(peer uint16, m net.Message, timeout time.Duration, done func(net.Message)) {
	s.n.ask(peer, m, timeout, done)
}
func (s streamer) AskAgain(peer uint16, m net.Message, accepted func(net.Message) bool, done func(net.Message)) {
	s.n.askAgain(peer, m, accepted, done)
}
func (s streamer) Wait(try int) time.Duration                 { return s.n.askWait(try) }
func (s streamer) Send(peer uint16, id uint64, m net.Message) { s.n.send(peer, id, m) }
func (s streamer) Later(d time.Duration, f func())            { s.n.later(d, f) }
func (s streamer) WithKeys(f func(keys store.Keys))           { s.n.withKeys(f) }
func (s streamer) Apply(es []net.Entry, done func(error))     { s.n.applyEntries(es, done) }
func (s streamer) SyncWith(peer uint16)                       { s.n.sendGossip(s.n.gossip.SyncWith(peer)) }
func (s streamer) Probe(name string)                          { s.n.probe(name) }
func (s streamer) Compared(c stream.Comparison) {
	s.n.stats.RepairRounds += c.Rounds
	s.n.stats.RepairArcs += c.Arcs
	s.n.stats.RepairSpans += c.Spans
}

// Streamed counts a batch in the streaming counters: entries, their size
// (key + value + 16 bytes of stamp and framing each) and the batch's.
// An empty batch received is not a batch; one sent (an empty SyncBatch)
// is.
func (s streamer) Streamed(in bool, es []net.Entry) {
	var b uint64
	for _, e := range es {
		b += uint64(e.Size())
	}
	st := &s.n.stats
	if in {
		st.StreamedIn += uint64(len(es))
		st.StreamedInBytes += b
		if len(es) > 0 {
			st.StreamInBatches.Add(b)
		}
		return
	}
	st.StreamedOut += uint64(len(es))
	st.StreamedOutBytes += b
	st.StreamOutBatches.Add(b)
}

// catchUp pulls what this node lacks, by marks, in every arc it replicates
// on either ring, each arc from the first up natural replica (one on the
// read ring: a member that owns the arc and so has its data) other than
// itself. done hears whether every arc was pulled.
func (n *Node) catchUp(marks []net.Mark, done func(ok bool)) {
	health := movement.Health{Up: n.up, Alive: func(id uint16) bool { m, _ := n.gossip.Member(id); return m.State == gossip.Alive }}
	byPeer, missing := movement.CatchUp(n.view, uint16(n.cfg.ID), health, n.sourceTurn)
	peers := slices.Sorted(maps.Keys(byPeer))
	movement.All(peers, func(p uint16, done func(bool)) { n.streams.Pull(p, byPeer[p], marks, done) }, func(pulled bool) {
		if len(peers) > 0 && (missing || !pulled) {
			n.sourceTurn++ // the next try starts from other owners
		}
		done(pulled && !missing)
	})
}

// The node's side of anti-entropy: rounds, and what a comparison found
// equal (for the tombstone rule).

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
	if d := n.streams.Digesting(); d > 0 {
		// The last round's digests are still being summed (a large table,
		// a short interval): rounds must not pile up on the loop.
		n.env.Log.Debug("anti-entropy: skipping a round; digests still being summed", "running", d)
		return
	}
	shared := n.sharedArcs(false)
	for _, p := range slices.Sorted(maps.Keys(shared)) {
		n.compare(p, shared[p], stream.Bounds{Horizon: n.horizon(), Expired: n.expired(), Records: n.recordsExpired()}, func(bool) {})
	}
}

// compareAll compares the arcs in shared (owner → arcs) with each owner
// and pulls what differs; done hears whether every comparison (and pull)
// succeeded. A movement compares every version, with no horizon: the
// writes in flight that a round leaves to replication and hints are in
// flight to the arcs' old owners, not to the node taking them, and an
// old owner that stops being one is never compared with again (churn
// and chaos seed 116: an increment acknowledged by its leader alone,
// whose hint died with the leader's restart, was newer than the joiner's
// horizon, and after the join no owner held it).
func (n *Node) compareAll(shared map[uint16][]net.Span, done func(ok bool)) {
	movement.All(slices.Sorted(maps.Keys(shared)), func(p uint16, done func(bool)) { n.compare(p, shared[p], stream.Bounds{}, done) }, done)
}

// compare compares spans with peer's within b and pulls what differs
// (stream.Driver.Compare); the spans found equal are noted for the
// tombstone rule (grave.go).
func (n *Node) compare(peer uint16, spans []net.Span, b stream.Bounds, done func(ok bool)) {
	began, epoch := n.steady, n.view.Epoch
	n.streams.Compare(peer, spans, b, func(span net.Span) { n.noteClean(peer, epoch, span, began, b.Horizon) }, done)
}

// scheduleAntiEntropy arms the next round: the interval, give or take a
// quarter, so that nodes do not all compare at once.
func (n *Node) scheduleAntiEntropy() {
	d := n.cfg.AntiEntropy
	if d <= 0 {
		return
	}
	d += d/4 - time.Duration(n.env.Rand.Int64N(int64(d/2)+1))
	n.later(d, n.antiEntropy)
}

// sharedArcs is, for each other member that owns some of the arcs this
// node owns — or, if taking, will own once its join is done — those arcs,
// but for members the failure detector has declared dead. Suspected ones
// are included: a movement waits for an owner that may be back soon
// rather than miss the only other copy of a value; one that is dead
// would block every movement — its own removal included — for good.
func (n *Node) sharedArcs(taking bool) map[uint16][]net.Span {
	shared := n.ownersOf(taking)
	for _, id := range slices.Sorted(maps.Keys(shared)) {
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
func (n *Node) digestFrom(from uint16, id uint64, epoch uint64, spans []net.Span, b stream.Bounds) {
	if n.otherRing(from, id, epoch) {
		return
	}
	n.streams.ServeDigest(from, id, spans, b)
}

// inFlight is how far back anti-entropy's horizon lies: a write stamped
// since is left to replication, hints and read repair, which are still
// carrying it (its coordinator waits a request timeout, then hints).
func inFlight(cfg Config) time.Duration { return 2 * cfg.RequestTimeout }

// sampleClock records the node's clock at this tick, for horizon and (if
// the node drops tombstones) expired.
func (n *Node) sampleClock() {
	n.recent.Record(n.now(), n.lamport.Now())
	if n.purging() {
		n.graceAgo.Record(n.steady, n.lamport.Now())
	}
	if n.collecting() {
		n.retentionAgo.Record(n.steady, n.lamport.Now())
	}
}

// horizon is the node's clock as it read inFlight ago (zero if it has not
// run that long): anti-entropy compares the versions stamped at or before
// it.
func (n *Node) horizon() clock.Timestamp { return n.recent.Ago(n.now()) }

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
