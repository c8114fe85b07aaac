package node

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/memdb/memdb/clock"
	"github.com/memdb/memdb/net"
	"github.com/memdb/memdb/node/oplog"
	"github.com/memdb/memdb/node/store"
)

// applyEntries makes entries durable in the log and then applies them to
// the store by last-writer-wins; done hears nil once they are (or the
// store already held them or something later), or why not. A replica, a
// coordinator writing locally, read repair, hints and streaming all come
// through here, so a version is never visible before it is durable.
func (n *Node) applyEntries(es []net.Entry, done func(error)) {
	if n.err != nil || n.log == nil {
		done(fmt.Errorf("%w: node %d cannot write until it restarts", errUnavailable, n.cfg.ID))
		return
	}
	recs := make([]oplog.Record, 0, len(es))
	for _, e := range es {
		if err := store.CheckEntry(e); err != nil {
			done(fmt.Errorf("%w: node %d refused an entry for key %q: %v", errUnavailable, n.cfg.ID, e.Key, err))
			return
		}
	}
	// A batch's intents are durable whatever the fsync mode, its
	// coordinator decides on the acknowledgements (design/batches.md); so
	// is what covers an intent this replica does not log (a later write
	// already here), before it acknowledges it.
	intents := slices.ContainsFunc(es, func(e net.Entry) bool { return e.Intents })
	expired, records := n.expired(), n.recordsExpired()
	for _, e := range es {
		n.lamport.Observe(e.Stamp)
		if e.Intents {
			var nothing bool
			if e, nothing = n.unmarked(e, records); nothing {
				continue
			}
		}
		cur, ok := n.store.Get(e.Key)
		if ok && store.Covers(cur, store.FromEntry(e)) {
			continue
		}
		if _, paxos := n.acceptors.Get(e.Key); !ok && !paxos && n.leftOut(e, expired, records) {
			// An expired tombstone of a key this node holds nothing of
			// (no state, no Paxos round): nothing here to delete, and the
			// rule would drop it (one streamed back from a replica that
			// has not dropped it yet); or an expired batch record
			// (leftOut).
			continue
		}
		if n.mutant(MutantCanary) && !e.Deleted && !e.Counter && !e.Intents { // the canary: keep a value no one wrote
			e.Value = append(e.Value[:len(e.Value):len(e.Value)], '?')
		}
		if n.mutant(MutantCanary) && e.Counter { // or a count no one made
			if slots, err := store.Slots(store.FromEntry(e)); err == nil {
				for i := range slots {
					slots[i].P += 3
				}
				e = store.Entry(e.Key, store.CounterAt(slots))
			}
		}
		recs = append(recs, store.Record(e.Key, store.FromEntry(e)))
	}
	if len(recs) == 0 {
		if intents {
			n.log.Sync(func(err error) {
				if err != nil {
					n.broke(err)
				}
				done(err)
			})
			return
		}
		done(nil)
		return
	}
	if err := n.log.Append(recs...); err != nil {
		if errors.Is(err, oplog.ErrBroken) {
			n.broke(err)
		}
		done(fmt.Errorf("%w: node %d could not log the write: %v", errUnavailable, n.cfg.ID, err))
		return
	}
	if n.mutant(MutantAckBeforeSync) {
		// The planted bug: visible and acknowledged before it is durable.
		for _, r := range recs {
			v, _, _ := store.FromRecord(r)
			n.apply(r.Key, v, n.steady)
			n.marks[r.Origin] = max(n.marks[r.Origin], r.Seq)
		}
		n.log.Commit(func(err error) {
			if err != nil {
				n.broke(err)
			}
		})
		done(nil)
		return
	}
	n.nextUnapplied++
	batch := n.nextUnapplied
	n.unapplied[batch] = recs
	commit := n.log.Commit
	if intents {
		commit = n.log.Sync
	}
	commit(func(err error) {
		delete(n.unapplied, batch)
		if errors.Is(err, oplog.ErrNotLogged) {
			// The deferred write failed (Config.Coalesce): as if Append had.
			done(fmt.Errorf("%w: node %d could not log the write: %v", errUnavailable, n.cfg.ID, err))
			return
		}
		if err != nil {
			n.broke(err)
			done(fmt.Errorf("node %d: syncing the operation log failed: %w", n.cfg.ID, err))
			return
		}
		for _, r := range recs {
			v, _, _ := store.FromRecord(r)
			n.apply(r.Key, v, n.steady)
			n.settleAcceptor(r.Key)
			n.marks[r.Origin] = max(n.marks[r.Origin], r.Seq)
		}
		n.stats.Applied += uint64(len(recs))
		done(nil)
		n.maybeCompact()
	})
}

// apply merges v into key's state in the store, at time at (the node's
// time since boot; 0 at replay), and remembers a tombstone the rule may
// drop in time (grave.go).
func (n *Node) apply(key []byte, v store.Version, at time.Duration) {
	now, changed := n.store.Update(key, v)
	if changed && n.purging() && now.Tombstone() {
		n.noteGrave(key, now.Stamp, at)
	}
	if changed && n.collecting() && now.Live() && store.IsRecordKey(key) {
		n.noteRecord(key, now.Stamp, at)
	}
}

// errUnavailable marks an error after which the write was certainly not
// applied here.
var errUnavailable = errors.New("unavailable")

// A refusal is a replica's definite no to an entry it will never take: the
// peer hears its code (and a hint of it is dropped, not kept).
type refusal struct {
	code net.Code
	msg  string
}

func (r *refusal) Error() string { return r.msg }

// admit checks a write sent to this replica (a coordinator's, a hint, a
// resolution; not a stream's, whose states are merged whatever they
// hold): a batch's intent may be refused (admitIntent).
func (n *Node) admit(es []net.Entry) error {
	if len(es) == 1 && es[0].Intents {
		return n.admitIntent(es[0])
	}
	return nil
}

// refusalOf is the answer to a write admit refused.
func refusalOf(err error) *net.Error {
	var r *refusal
	if errors.As(err, &r) {
		return &net.Error{Code: r.code, Message: r.msg}
	}
	return &net.Error{Code: net.CodeUnavailable, Message: err.Error()}
}

// unburied returns the entries of m this replica may take, or the refusal
// of a coordinator's write: a register's value stamped at or below the
// node's tombstone floor (floor) for a key it holds nothing of may be a
// value whose delete's tombstone this node dropped, and taking it would
// bring the deleted value back. A coordinator's write (net.CarryWrite) is
// refused, and its coordinator stamps it again above this node's clock,
// which the refusal carries: a write stamped by a clock that lagged the
// cluster's by a grace (a coordinator cut off, or paused between a
// request's arrival and its handling) then lands after the delete, in
// stamp order as in time. A copy of an earlier write (net.CarryCopy: a
// hint, a repair, a commit or resolution written behind, held back by a
// pause) is left out and the rest taken, as the dropped tombstone would
// have covered it. A leaving node's push (net.CarryState) is taken whole:
// its sender is a replica, held to the rule itself.
func (n *Node) unburied(m *net.Replicate) ([]net.Entry, error) {
	if m.Carry == net.CarryState || n.mutant(MutantTombstoneStaleTaken) {
		return m.Entries, nil
	}
	floor := n.floor()
	if floor.IsZero() || !slices.ContainsFunc(m.Entries, func(e net.Entry) bool { return n.buried(e, floor) }) {
		return m.Entries, nil
	}
	if m.Carry == net.CarryWrite {
		n.stats.StaleRefused++
		// The refusal's frame carries the node's clock, at the floor or
		// past it, for the coordinator to stamp above.
		n.lamport.Observe(floor)
		return nil, &refusal{net.CodeStaleStamp, fmt.Sprintf("node %d: the write is stamped at or below %v, this node's tombstone floor, and the key holds nothing here; stamp it again", n.cfg.ID, floor)}
	}
	es := slices.DeleteFunc(slices.Clone(m.Entries), func(e net.Entry) bool { return n.buried(e, floor) })
	n.stats.StaleSkipped += uint64(len(m.Entries) - len(es))
	return es, nil
}

// floor is the stamp at or below which a register's value may lie under a
// tombstone this node dropped: the newest tombstone it dropped (this life,
// or after a restart the clock its log restarts it at: Acceptors.Below,
// the Paxos floor), or its clock as it read the grace ago, whichever is
// later; zero if it drops no tombstones and never did.
func (n *Node) floor() clock.Timestamp { return n.expired().Max(n.acceptors.Below) }

// buried reports whether entry e is a register's value stamped at or below
// floor for a key this node holds nothing of, in its store or its Paxos
// acceptors.
func (n *Node) buried(e net.Entry, floor clock.Timestamp) bool {
	if e.Deleted || e.Counter || e.Intents || floor.Less(e.Stamp) {
		return false
	}
	if _, ok := n.store.Get(e.Key); ok {
		return false
	}
	_, paxos := n.acceptors.Get(e.Key)
	return !paxos
}

// carry is what a Replicate of entries that are c to this node carries: c
// if the node drops tombstones, else net.CarryState (the receiver takes
// everything, as before the rule).
func (n *Node) carry(c net.Carry) net.Carry {
	if !n.purging() {
		return net.CarryState
	}
	return c
}

// maxIntents bounds the undecided intents a key's state holds at once.
const maxIntents = 32

// admitIntent refuses a batch's intent (an entry holding one undecided
// intent and no value: what a batch coordinator writes) that this
// replica must not take: on a key that holds a counter (the counter would
// outrank it, and the batch commit without the key), or one that would
// take the key's state past what an entry can carry, or its intents past
// maxIntents. The refusal aborts the batch.
func (n *Node) admitIntent(e net.Entry) error {
	v := store.FromEntry(e)
	if !v.Stamp.IsZero() || len(v.Intents()) != 1 || !v.Intents()[0].Undecided() {
		return nil // a whole state (a stream, a repair), or a marker
	}
	cur, _ := n.store.Get(e.Key)
	if cur.Kind == store.Counter {
		return &refusal{net.CodeWrongKind, fmt.Sprintf("node %d: key %q holds a counter; a batch cannot write it", n.cfg.ID, e.Key)}
	}
	merged, _ := store.Merge(cur, v)
	if len(merged.Undecided()) > maxIntents {
		return &refusal{net.CodeTooLarge, fmt.Sprintf("node %d: key %q has %d batches undecided; retry once they are", n.cfg.ID, e.Key, maxIntents)}
	}
	if size := len(store.Entry(e.Key, merged).Value); size > net.MaxValue {
		return &refusal{net.CodeTooLarge, fmt.Sprintf("node %d: key %q with this batch's intent would hold %d bytes, over %d", n.cfg.ID, e.Key, size, net.MaxValue)}
	}
	return nil
}

// fenced checks the ring epoch a coordinator sent with a request. A
// coordinator on an older ring may have chosen the wrong replicas, so its
// request is refused (it fails rather than counting an answer from a node
// that is not a replica any more), and both sides exchange membership so
// the older one catches up. A request from a newer ring is served, and
// this node asks for what it missed.
func (n *Node) fenced(from uint16, id uint64, epoch uint64) bool {
	if epoch == n.view.Epoch {
		return false
	}
	n.sendGossip(n.gossip.SyncWith(from))
	if epoch > n.view.Epoch || id == 0 || n.mutant(MutantNoFence) {
		return false
	}
	n.stats.Fenced++
	n.probe(ProbeFenced)
	n.send(from, id, &net.Error{Code: net.CodeStaleRing, Message: fmt.Sprintf("node %d is at epoch %d, the request was made at %d", n.cfg.ID, n.view.Epoch, epoch)})
	return true
}

// replicate serves a peer's Replicate: apply, then acknowledge if asked.
func (n *Node) replicate(from uint16, id uint64, m *net.Replicate) {
	if n.fenced(from, id, m.Epoch) {
		return
	}
	n.stats.Replicated += uint64(len(m.Entries))
	es, err := n.unburied(m)
	if err == nil {
		err = n.admit(es)
	}
	if err != nil {
		if id != 0 {
			n.send(from, id, refusalOf(err))
		}
		return
	}
	n.applyEntries(es, func(err error) {
		if id == 0 {
			return
		}
		if err != nil {
			code := net.CodeUnknownOutcome
			if errors.Is(err, errUnavailable) {
				code = net.CodeUnavailable
			}
			n.send(from, id, &net.Error{Code: code, Message: err.Error()})
			return
		}
		n.send(from, id, &net.Done{})
	})
}

// read serves a peer's Read with this node's version of the key.
func (n *Node) read(from uint16, id uint64, m *net.Read) {
	if n.fenced(from, id, m.Epoch) {
		return
	}
	v, _ := n.store.Get(m.Key)
	n.send(from, id, store.PeerAnswer(m.Key, v))
}
