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

// The node's side of streaming: Sync and SyncBatch, pushes, catch-up and
// its sources. node/stream has the design and the pure scan.

// syncLimit is about how many bytes one SyncBatch carries.
const syncLimit = 256 << 10

// syncTries bounds how often one Sync is sent without an answer before the
// pull gives up (and catch-up picks another source on its next round);
// the waits double from a quarter of a request timeout to a request
// timeout (askWaitStep), 9.5 s in all (PAPER bug 58).
const syncTries = 5

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
		n.ask(peer, req, n.cfg.RequestTimeout/4<<min(tries, askWaitStep), func(m net.Message) {
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
				n.later(n.cfg.Gossip.ProbeInterval/4, func() { next(after, tries+1) })
				return
			}
			n.stats.StreamedIn += uint64(len(b.Entries))
			n.probeIf(len(marks) > 0 && len(b.Entries) > 0, ProbeCatchUpGap)
			n.stats.StreamedInBytes += entryBytes(b.Entries)
			if len(b.Entries) > 0 {
				n.stats.StreamInBatches.Add(entryBytes(b.Entries))
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
		n.withKeys(func(keys []string) {
			es, more, nextKey := stream.ScanKeys(n.store, keys, spans, nil, after, syncLimit)
			es = n.streamed(es)
			switch {
			case len(es) == 0 && !more:
				done(true)
				return
			case len(es) == 0:
				// The scan walked its bound of keys and found nothing to
				// send: go on from there, in another turn of the loop.
				n.later(0, func() { next(nextKey, 0) })
				return
			}
			n.ask(peer, &net.Replicate{Epoch: n.view.Epoch, Entries: es}, 2*n.cfg.RequestTimeout, func(m net.Message) {
				if _, ok := m.(*net.Done); !ok {
					next(after, tries+1)
					return
				}
				n.stats.StreamedOut += uint64(len(es))
				n.stats.StreamedOutBytes += entryBytes(es)
				n.stats.StreamOutBatches.Add(entryBytes(es))
				if !more {
					done(true)
					return
				}
				next(nextKey, 0)
			})
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
	n.withKeys(func(keys []string) {
		es, more, next := stream.ScanKeys(n.store, keys, m.Spans, m.Marks, m.After, int(min(m.Limit, syncLimit)))
		es = n.streamed(es)
		n.stats.StreamedOut += uint64(len(es))
		n.stats.StreamedOutBytes += entryBytes(es)
		n.stats.StreamOutBatches.Add(entryBytes(es))
		n.send(from, id, &net.SyncBatch{Entries: es, More: more, Next: next})
	})
}

// catchUp pulls what this node lacks, by marks, in every arc it replicates
// on either ring, each arc from the first up natural replica (one on the
// read ring: a member that owns the arc and so has its data) other than
// itself. done hears whether every arc was pulled.
func (n *Node) catchUp(marks []net.Mark, done func(ok bool)) {
	health := movement.Health{Up: n.up, Alive: func(id uint16) bool { m, _ := n.gossip.Member(id); return m.State == gossip.Alive }}
	byPeer, missing := movement.CatchUp(n.view, uint16(n.cfg.ID), health, n.sourceTurn)
	peers := slices.Sorted(maps.Keys(byPeer))
	movement.All(peers, func(p uint16, done func(bool)) { n.pull(p, byPeer[p], marks, done) }, func(pulled bool) {
		if len(peers) > 0 && (missing || !pulled) {
			n.sourceTurn++ // the next try starts from other owners
		}
		done(pulled && !missing)
	})
}

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
	if n.digesting > 0 {
		// The last round's digests are still being summed (a large table,
		// a short interval): rounds must not pile up on the loop.
		n.env.Log.Debug("anti-entropy: skipping a round; digests still being summed", "running", n.digesting)
		return
	}
	shared := n.sharedArcs(false)
	for _, p := range slices.Sorted(maps.Keys(shared)) {
		n.compare(p, shared[p], bounds{n.horizon(), n.expired()}, func(bool) {})
	}
}

// bounds are what a digest leaves out: versions stamped after horizon
// (none if it is zero), and plain tombstones stamped at or before expired
// (none if it is zero; grave.go).
type bounds struct {
	horizon, expired clock.Timestamp
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
	movement.All(slices.Sorted(maps.Keys(shared)), func(p uint16, done func(bool)) { n.compare(p, shared[p], bounds{}, done) }, done)
}

// compare asks peer for its digests of spans within bounds, narrows those
// that differ down to the sub-spans that do (narrow), pulls those, and
// tells done whether it got the digests and the pull succeeded. The spans
// found equal are noted for the tombstone rule (grave.go).
func (n *Node) compare(peer uint16, spans []net.Span, b bounds, done func(ok bool)) {
	n.stats.RepairRounds++
	n.env.Log.Debug("anti-entropy: comparing", "peer", peer, "arcs", len(spans))
	began, epoch := n.steady, n.view.Epoch
	n.narrow(peer, spans, b, 0, func(span net.Span) { n.noteClean(peer, epoch, span, began, b.horizon) }, func(pull []net.Span, ok bool) {
		if !ok || len(pull) == 0 {
			done(ok)
			return
		}
		n.stats.RepairSpans += uint64(len(pull))
		n.env.Log.Info("anti-entropy: replicas differ; pulling", "peer", peer, "spans", len(pull))
		n.pull(peer, pull, nil, done)
	})
}

// Anti-entropy narrows a difference before it pulls: a span whose digests
// differ and that holds more than refineKeys keys here is cut into
// refineFanout sub-spans, compared again, down refineDepth levels below
// the arcs; the spans that differ at the bottom, or hold few keys, are
// pulled. So a round moves about the keys of a few small spans per
// difference (writes in flight make most rounds under load find some),
// not whole arcs, and small tables (the simulator's) pull at once.
const (
	refineFanout = 16
	refineDepth  = 2
	refineKeys   = 256
)

// narrow compares spans (depth levels below the arcs) with peer's, tells
// equal each span found equal, and hands done the spans to pull: those
// that differ and are small or at the bottom, and what narrowing the
// others finds.
func (n *Node) narrow(peer uint16, spans []net.Span, b bounds, depth int, equal func(net.Span), done func(pull []net.Span, ok bool)) {
	n.digests(spans, b, func(mine stream.Sums) {
		isReply := func(m net.Message) bool { _, ok := m.(*net.DigestReply); return ok }
		var ask net.Message = &net.Digest{Epoch: n.view.Epoch, Spans: spans}
		if !b.horizon.IsZero() {
			ask = &net.DigestBefore{Epoch: n.view.Epoch, Spans: spans, Horizon: b.horizon, Expired: b.expired}
		}
		n.askAgain(peer, ask, isReply, func(m net.Message) {
			r, ok := m.(*net.DigestReply)
			if !ok || len(r.Sums) != len(spans) {
				n.env.Log.Debug("anti-entropy: no digest", "peer", peer, "answer", describeAnswer(m))
				done(nil, false)
				return
			}
			var pull, big []net.Span
			for i, s := range spans {
				switch {
				case r.Sums[i] == mine.Sums[i]:
					equal(s)
				case depth < refineDepth && mine.Keys[i] > refineKeys:
					big = append(big, stream.Split(s, refineFanout)...)
				default:
					pull = append(pull, s)
				}
			}
			if depth == 0 && len(pull)+len(big) > 0 {
				n.stats.RepairArcs += uint64(len(pull) + len(big)/refineFanout)
				n.probe(ProbeRepairArcsDiffer)
			}
			if len(big) == 0 {
				done(pull, true)
				return
			}
			n.narrow(peer, big, b, depth+1, equal, func(more []net.Span, ok bool) { done(append(pull, more...), ok) })
		})
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
func (n *Node) digestFrom(from uint16, id uint64, epoch uint64, spans []net.Span, b bounds) {
	if n.otherRing(from, id, epoch) {
		return
	}
	if n.digesting >= maxDigesting {
		// As many walks of the table as the loop should carry at once: the
		// asker's comparison fails, and its next round asks again.
		n.send(from, id, &net.Error{Code: net.CodeUnavailable, Message: fmt.Sprintf("node %d is summing %d digests already", n.cfg.ID, n.digesting)})
		return
	}
	n.digests(spans, b, func(d stream.Sums) { n.send(from, id, &net.DigestReply{Sums: d.Sums}) })
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

// digestSlice bounds the keys a digest sums in one turn of the loop, and
// maxDigesting the digests being summed at once that a peer's request may
// add to.
const (
	digestSlice  = 8192
	maxDigesting = 4
)

// digests sums the store's digests of spans within bounds, digestSlice
// keys per turn of the loop, and calls done with them (in the same turn if
// the store is small).
func (n *Node) digests(spans []net.Span, b bounds, done func(stream.Sums)) {
	n.digesting++
	n.withKeys(func(keys []string) {
		d := stream.NewDigest(spans, keys, b.horizon)
		d.Expired = b.expired
		var step func()
		step = func() {
			if d.Step(n.store, digestSlice) {
				n.digesting--
				done(d.Sums)
				return
			}
			n.later(0, step)
		}
		step()
	})
}

// streamed is what a stream sends of es: all of it, but under
// MutantStreamDropsIntents each state without its batch intents.
func (n *Node) streamed(es []net.Entry) []net.Entry {
	if !n.mutant(MutantStreamDropsIntents) {
		return es
	}
	out := es[:0:0]
	for _, e := range es {
		if e.Intents {
			v := store.FromEntry(e).Settled()
			if v.Stamp.IsZero() {
				continue
			}
			e = store.Entry(e.Key, v)
		}
		out = append(out, e)
	}
	return out
}

// entryBytes is the size of es as the streaming counters count it.
func entryBytes(es []net.Entry) uint64 {
	var b uint64
	for _, e := range es {
		b += uint64(e.Size())
	}
	return b
}
