package node

import (
	"fmt"

	"github.com/memdb/memdb/net"
	"github.com/memdb/memdb/node/coord"
	"github.com/memdb/memdb/node/gossip"
	"github.com/memdb/memdb/node/movement"
	"github.com/memdb/memdb/node/stream"
)

// The node's side of streaming: Sync and SyncBatch, pushes, catch-up and
// its sources. node/stream has the design and the pure scan.

// syncLimit is about how many bytes one SyncBatch carries.
const syncLimit = 256 << 10

// syncTries bounds how often one Sync is sent without an answer before the
// pull gives up (and catch-up picks another source on its next round);
// the waits double from a quarter of a request timeout, 7.5 s in all.
const syncTries = 3

// pull streams from peer the entries in spans that marks say this node
// lacks, then calls done.
func (n *Node) pull(peer uint16, spans []net.Span, marks []net.Mark, done func(ok bool)) {
	var next func(after []byte, tries int)
	next = func(after []byte, tries int) {
		if tries > syncTries {
			n.probe(ProbeSyncGaveUp)
			done(false)
			return
		}
		req := &net.Sync{Epoch: n.view.Epoch, Spans: spans, Marks: marks, After: after, Limit: syncLimit}
		// A batch usually comes back in milliseconds: a lost request or
		// answer is asked again soon, then with more patience.
		n.ask(peer, req, n.cfg.RequestTimeout/4<<tries, func(m net.Message) {
			b, ok := m.(*net.SyncBatch)
			switch {
			case m == nil:
				n.env.Log.Debug("sync unanswered", "peer", peer, "tries", tries)
				next(after, tries+1)
				return
			case !ok:
				// Refused: most often the peer has not heard of the ring
				// this node asks at yet, and the refusal made it ask; give
				// gossip a moment.
				n.env.Log.Debug("sync refused", "peer", peer, "tries", tries, "answer", describeAnswer(m))
				n.env.Clock.AfterFunc(n.cfg.Gossip.ProbeInterval/4, func() { next(after, tries+1) })
				return
			}
			n.stats.StreamedIn += uint64(len(b.Entries))
			n.probeIf(len(marks) > 0 && len(b.Entries) > 0, ProbeCatchUpGap)
			for _, e := range b.Entries {
				n.stats.StreamedInBytes += uint64(coord.EntrySize(e))
			}
			n.applyEntries(b.Entries, func(err error) {
				switch {
				case err != nil:
					done(false)
				case b.More:
					next(b.Next, 0)
				default:
					done(true)
				}
			})
		})
	}
	next(nil, 0)
}

// push sends peer every entry this node holds in spans, batch by batch,
// each acknowledged durable before the next: how a leaving node hands its
// ranges to the nodes that gain them.
func (n *Node) push(peer uint16, spans []net.Span, done func(ok bool)) {
	var next func(after []byte, tries int)
	next = func(after []byte, tries int) {
		if tries > syncTries {
			done(false)
			return
		}
		es, more, nextKey := stream.Scan(n.store, spans, nil, after, syncLimit)
		if len(es) == 0 {
			done(true)
			return
		}
		n.ask(peer, &net.Replicate{Epoch: n.view.Epoch, Entries: es}, 2*n.cfg.RequestTimeout, func(m net.Message) {
			if _, ok := m.(*net.Done); !ok {
				next(after, tries+1)
				return
			}
			n.stats.StreamedOut += uint64(len(es))
			if !more {
				done(true)
				return
			}
			next(nextKey, 0)
		})
	}
	next(nil, 0)
}

// serveSync answers a peer's Sync from the store. A peer on a newer ring
// than this node's waits until this node has learned it: from then on this
// node sends the peer every write it coordinates for the ranges the peer
// gains, so nothing falls between the stream and the writes.
func (n *Node) serveSync(from uint16, id uint64, m *net.Sync) {
	if m.Epoch > n.view.Epoch {
		n.probe(ProbeSyncBehindEpoch)
		n.sendGossip(n.gossip.SyncWith(from))
		n.send(from, id, &net.Error{Code: net.CodeUnavailable, Message: fmt.Sprintf("node %d is at ring epoch %d, behind the %d asked at; ask again", n.cfg.ID, n.view.Epoch, m.Epoch)})
		return
	}
	es, more, next := stream.Scan(n.store, m.Spans, m.Marks, m.After, int(min(m.Limit, syncLimit)))
	n.stats.StreamedOut += uint64(len(es))
	n.send(from, id, &net.SyncBatch{Entries: es, More: more, Next: next})
}

// catchUp pulls what this node lacks, by marks, in every arc it replicates
// on either ring, each arc from the first up natural replica (one on the
// read ring: a member that owns the arc and so has its data) other than
// itself. done hears whether every arc was pulled.
func (n *Node) catchUp(marks []net.Mark, done func(ok bool)) {
	health := movement.Health{Up: n.up, Alive: func(id uint16) bool { m, _ := n.gossip.Member(id); return m.State == gossip.Alive }}
	byPeer, missing := movement.CatchUp(n.view, uint16(n.cfg.ID), health, n.sourceTurn)
	peers := sortedKeys(byPeer)
	movement.All(peers, func(p uint16, done func(bool)) { n.pull(p, byPeer[p], marks, done) }, func(pulled bool) {
		if len(peers) > 0 && (missing || !pulled) {
			n.sourceTurn++ // the next try starts from other owners
		}
		done(pulled && !missing)
	})
}
