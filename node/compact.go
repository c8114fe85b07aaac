package node

import (
	"errors"
	"fmt"
	"iter"
	"maps"
	"slices"

	"github.com/memdb/memdb/node/oplog"
	"github.com/memdb/memdb/node/store"
)

// CompactResult describes a finished compaction.
type CompactResult struct {
	Keys       int   // keys written to the base, tombstones included
	LogBefore  int64 // bytes appended to the log since the previous compaction
	StoreBytes int   // bytes of keys and values in the live state
}

// Compact rewrites the log as a compressed base of the live state and
// calls done on the loop when the new log is durable. Requests made while
// a compaction runs share its outcome.
func (n *Node) Compact(done func(CompactResult, error)) {
	if n.log == nil || n.err != nil {
		done(CompactResult{}, fmt.Errorf("node %d cannot compact: not serving", n.cfg.ID))
		return
	}
	n.compactWaiters = append(n.compactWaiters, done)
	if n.compacting {
		return
	}
	n.startCompaction()
}

// maybeCompact starts a compaction when the log has grown past the
// configured bound since the last one.
func (n *Node) maybeCompact() {
	c := n.cfg.Compaction
	if c.MinBytes < 0 || n.compacting || n.log == nil {
		return
	}
	grown := n.log.Stats().Bytes - n.logAtCompact
	if grown >= c.MinBytes && float64(grown) >= c.Ratio*float64(n.store.Bytes()) {
		n.startCompaction()
	}
}

func (n *Node) startCompaction() {
	res := CompactResult{Keys: n.store.Len(), LogBefore: n.log.Stats().Bytes - n.logAtCompact, StoreBytes: n.store.Bytes()}
	n.compacting = true
	mark := n.log.Stats().Bytes
	n.env.Log.Info("compaction started", "keys", res.Keys, "log_bytes", res.LogBefore, "store_bytes", res.StoreBytes)
	c, err := n.log.BeginCompaction()
	if err != nil {
		n.endCompaction(res, err)
		return
	}
	for r := range n.fixedState() {
		if err := c.Add(r); err != nil {
			c.Abort()
			n.endCompaction(res, err)
			return
		}
	}
	finish := func(err error) {
		if err == nil {
			n.logAtCompact = mark
		}
		n.endCompaction(res, err)
	}
	n.withKeys(func(keys store.Keys) { n.compactWalk(c, keys, finish) })
}

// withKeys calls f with the store's keys in order: at once if few were
// added since they were last sorted, else once they are merged in off the
// loop (the store never writes what Order handed out) — the keys as of
// the call; one added meanwhile is not among them.
func (n *Node) withKeys(f func(keys store.Keys)) {
	o := n.store.Order()
	if o.Added() <= compactSlice {
		f(n.store.Keys())
		return
	}
	var keys store.Keys
	n.offload(16*o.Added(), func() { keys = o.Merge() }, func() {
		n.store.Adopt(o, keys)
		f(keys)
	})
}

// offload runs work off the loop through Env.Offload, then done on it;
// inline if the Env has none.
func (n *Node) offload(cost int, work, done func()) {
	if n.env.Offload == nil {
		work()
		if done != nil {
			done()
		}
		return
	}
	n.env.Offload(cost, work, done)
}

// compactSlice bounds the keys a compaction reads from the store in one
// event of the node's loop, so that requests wait for at most one slice.
const compactSlice = 1024

// compactWalk adds the state of keys to compaction c, compactSlice keys per
// event, and finishes it. A key's state is read when its slice runs, so
// it may be newer than when the compaction began: that is fine, since
// the segments after the base hold every write since (Compaction's doc).
func (n *Node) compactWalk(c *oplog.Compaction, keys store.Keys, finish func(error)) {
	if n.log == nil || n.err != nil {
		c.Abort()
		finish(fmt.Errorf("node %d stopped or broke during a compaction", n.cfg.ID))
		return
	}
	slice, rest := keys.Cut(compactSlice)
	for key := range slice.All() {
		v, ok := n.store.Get([]byte(key))
		if !ok || v.Deleted && n.mutant(MutantCompactTombstones) {
			continue
		}
		if err := c.Add(store.Record([]byte(key), v)); err != nil {
			c.Abort()
			finish(err)
			return
		}
	}
	if rest.Len() > 0 {
		n.later(0, func() { n.compactWalk(c, rest, finish) })
		return
	}
	c.Finish(finish)
}

// endCompaction reports a compaction's outcome to everyone waiting for it.
func (n *Node) endCompaction(res CompactResult, err error) {
	n.compacting = false
	if err == nil {
		n.env.Log.Info("compaction done", "keys", res.Keys)
	} else {
		n.env.Log.Warn("compaction failed", "err", err)
		if errors.Is(err, oplog.ErrBroken) {
			n.broke(err)
		}
	}
	waiters := n.compactWaiters
	n.compactWaiters = nil
	for _, w := range waiters {
		w(res, err)
	}
}

// fixedState yields the records of a compaction's base that are not the
// store's keys, as they are when it begins: the lease, the members, the
// flags, the increments kept, the acceptors, and the writes appended but
// not yet committed. The store's keys follow, a slice at a time
// (compactWalk), tombstones with them: one leaves the base only once the
// tombstone rule dropped it from the store (grave.go).
func (n *Node) fixedState() iter.Seq[oplog.Record] {
	return func(yield func(oplog.Record) bool) {
		if !yield(leaseRecord(n.lease)) {
			return
		}
		for _, id := range slices.Sorted(maps.Keys(n.known)) {
			if !yield(memberRecord(n.known[id])) {
				return
			}
		}
		if !n.flagRecords(yield) || !n.acceptors.Records(yield) {
			return
		}
		// Writes appended but not yet committed are in the segments the
		// base replaces and not in the store yet: without them here, a
		// write acknowledged once its commit runs would be lost by a
		// crash after the swap. Replay applies by last-writer-wins, so
		// their order after the store's versions does not matter.
		if n.mutant(MutantCompactInFlight) {
			return
		}
		for _, b := range slices.Sorted(maps.Keys(n.unapplied)) {
			for _, r := range n.unapplied[b] {
				if !yield(r) {
					return
				}
			}
		}
	}
}
