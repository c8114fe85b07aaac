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
	err := n.log.Compact(n.liveState(), func(err error) {
		if err == nil {
			n.logAtCompact = mark
		}
		n.endCompaction(res, err)
	})
	if err != nil {
		n.endCompaction(res, err)
	}
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

// liveState yields the latest version of every key in key order, so the
// base is the same bytes for the same state. Tombstones are kept: a
// tombstone may be dropped only once no replica can resurrect the value it
// deleted, and until the cluster can tell that, keeping them is the safe
// rule.
func (n *Node) liveState() iter.Seq[oplog.Record] {
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
		for _, k := range n.store.Keys() {
			v, _ := n.store.Get([]byte(k))
			if !yield(store.Record([]byte(k), v)) {
				return
			}
		}
		// Writes appended but not yet committed are in the segments the
		// base replaces and not in the store yet: without them here, a
		// write acknowledged once its commit runs would be lost by a
		// crash after the swap. Replay applies by last-writer-wins, so
		// their order after the store's versions does not matter.
		for _, b := range slices.Sorted(maps.Keys(n.unapplied)) {
			for _, r := range n.unapplied[b] {
				if !yield(r) {
					return
				}
			}
		}
	}
}
