package node

import (
	"bytes"
	"time"

	"github.com/memdb/memdb/clock"
	"github.com/memdb/memdb/net"
	"github.com/memdb/memdb/node/grave"
	"github.com/memdb/memdb/node/oplog"
	"github.com/memdb/memdb/node/store"
)

// Collecting batch records: the rule of batch.go ("Collection") as this
// node keeps it for the records it replicates. A record comes into a yard
// (grave.Yard, the tombstones' own) when it is applied here, with the
// node's steady time; a sweep, every eighth of the retention at most an
// anti-entropy interval, looks at the yard in the order records came and
//
//  1. stops at the first record here for less than Config.BatchRetention
//     (the window; hints wait at most half of it, coordinate.go);
//  2. begins only on a member of a settled ring, and stops when the ring
//     moves (the tombstones' Ready and Settled);
//  3. drops an aborted record at once; for a committed one it asks every
//     replica of every key the record names (Holds, answered after the
//     replica's log is synced) whether it holds durably a state at or
//     past the batch's version and no undecided intent of the batch, and
//     drops the record at a later sweep on the same ring once all said
//     yes. A committed record of the old form (no keys) is kept.
//
// A record is dropped with its Paxos acceptor state (a round in progress
// on it keeps it), durably: an oplog.TypeForget record, synced, replays
// to nothing for the key — neither its value nor its acceptor state.
// Nothing is dropped while a Paxos round is in flight on the key here.

// recordChecksInFlight bounds the records one node checks at a time.
const recordChecksInFlight = 32

// collecting reports whether the node collects batch records.
func (n *Node) collecting() bool { return n.cfg.BatchRetention > 0 }

// noteRecord keeps record key, decided at stamp and just applied at steady
// time at, in the yard the collector sweeps.
func (n *Node) noteRecord(key []byte, stamp clock.Timestamp, at time.Duration) {
	n.records.Add(grave.Grave{Key: string(key), Stamp: stamp, At: at})
}

// recordSweepEvery is how often the record yard is swept.
func (n *Node) recordSweepEvery() time.Duration {
	d := n.cfg.BatchRetention / 8
	if n.cfg.AntiEntropy > 0 {
		d = min(d, n.cfg.AntiEntropy)
	}
	return max(d, time.Millisecond)
}

// sweepRecords drops the records the rule allows, grave.Slice a turn,
// and asks the replicas of the committed ones not yet checked.
func (n *Node) sweepRecords() {
	if !n.collecting() || !n.records.Due(n.now(), n.recordSweepEvery()) || n.records.Len() == 0 {
		return
	}
	g := graver{n}
	if !g.Ready() {
		return
	}
	epoch := n.view.Epoch
	n.records.Begin()
	var step func()
	step = func() {
		if !g.Settled(epoch) {
			n.records.End()
			return
		}
		var recs []oplog.Record
		more := n.records.Turn(grave.Slice, func(r grave.Grave) grave.Verdict {
			v := n.judgeRecord(r, epoch)
			if v == grave.Drop {
				n.dropRecord(r)
				recs = append(recs, oplog.Record{Type: oplog.TypeForget, Key: []byte(r.Key)})
			}
			return v
		})
		next := func() {
			if more {
				n.later(0, step)
				return
			}
			n.records.End()
		}
		if len(recs) == 0 {
			next()
			return
		}
		n.persist(recs, next)
	}
	step()
}

// judgeRecord is the rule's verdict on record r on the settled ring of
// epoch.
func (n *Node) judgeRecord(r grave.Grave, epoch uint64) grave.Verdict {
	key := []byte(r.Key)
	v, ok := n.store.Get(key)
	if !ok || !v.Live() || v.Stamp != r.Stamp {
		return grave.Gone
	}
	if n.steady-r.At < n.cfg.BatchRetention {
		return grave.Young
	}
	rec, err := store.ReadRecord(true, v.Value)
	if err != nil || rec.Outcome == store.Committed && !rec.Named {
		return grave.Gone // kept for good: nothing says where its writes went
	}
	if ballot, _ := n.acceptors.InProgress(key, v.Stamp); !ballot.IsZero() {
		return grave.Keep
	}
	if rec.Outcome == store.Aborted || n.mutant(MutantRecordUnchecked) {
		return grave.Drop
	}
	if c, ok := n.recordChecks[r.Key]; ok {
		if c.epoch == epoch && c.stamp == r.Stamp && c.left == 0 && !c.failed {
			delete(n.recordChecks, r.Key)
			return grave.Drop
		}
		if c.left > 0 && c.epoch == epoch {
			return grave.Keep // still asking
		}
		delete(n.recordChecks, r.Key)
	}
	if len(n.recordChecks) < recordChecksInFlight {
		n.checkRecord(key, r.Stamp, rec, epoch)
	}
	return grave.Keep
}

// A recordCheck is the asking of the replicas of a committed record's
// keys: on which ring, for which record, how many answers are still to
// come, and whether one said no (or did not answer).
type recordCheck struct {
	epoch  uint64
	stamp  clock.Timestamp
	left   int
	failed bool
}

// checkRecord asks every replica of every key of committed record rec
// (of key, stamped stamp) whether it holds the batch's write durably.
func (n *Node) checkRecord(key []byte, stamp clock.Timestamp, rec store.BatchRecord, epoch uint64) {
	token := bytes.TrimPrefix(key, store.RecordKey(nil))
	c := &recordCheck{epoch: epoch, stamp: stamp}
	n.recordChecks[string(key)] = c
	answered := func(yes bool) {
		c.left--
		c.failed = c.failed || !yes
	}
	type ask struct {
		id  uint16
		key []byte
	}
	var asks []ask
	for _, k := range rec.Keys {
		_, all := n.groups(k)
		for _, id := range all {
			asks = append(asks, ask{id, k})
		}
	}
	c.left = len(asks)
	for _, a := range asks {
		if a.id == uint16(n.cfg.ID) {
			n.holdsWrite(a.key, token, rec.At, answered)
			continue
		}
		if !n.up(a.id) {
			answered(false)
			continue
		}
		n.ask(a.id, &net.Holds{Epoch: epoch, Key: a.key, Token: token, At: rec.At}, n.cfg.RequestTimeout, func(m net.Message) {
			b, ok := m.(*net.Bool)
			answered(ok && b.Value)
		})
	}
}

// holdsFrom serves a peer's Holds.
func (n *Node) holdsFrom(from uint16, id uint64, m *net.Holds) {
	if n.fenced(from, id, m.Epoch) {
		return
	}
	n.holdsWrite(m.Key, m.Token, m.At, func(yes bool) { n.send(from, id, &net.Bool{Value: yes}) })
}

// holdsWrite answers whether this replica holds, durably, the write at at
// of the batch with token to key: its state of key is at or past at and
// holds no undecided intent of the batch. The state is judged as it is
// now, and the answer waits for the log's sync: what the store holds was
// logged before, so it is durable then. A broken log answers nothing.
func (n *Node) holdsWrite(key, token []byte, at clock.Timestamp, answer func(bool)) {
	if n.err != nil || n.log == nil {
		return
	}
	v, ok := n.store.Get(key)
	yes := ok && store.HoldsWrite(v, token, at)
	n.log.Sync(func(err error) {
		if err != nil {
			n.broke(err)
			return
		}
		answer(yes)
	})
}

// dropRecord drops record r from the store and its acceptor state (the
// caller logs the TypeForget that makes it durable).
func (n *Node) dropRecord(r grave.Grave) {
	n.store.Drop([]byte(r.Key))
	n.acceptors.Forget([]byte(r.Key))
	n.stats.RecordsDropped++
}

// Records is the number of batch records the node holds, and dropped how
// many it collected since boot.
func (n *Node) Records() (held int, dropped uint64) {
	for _, k := range n.store.Keys() {
		if _, ok := n.store.Get([]byte(k)); ok && store.IsRecordKey([]byte(k)) {
			held++
		}
	}
	return held, n.stats.RecordsDropped
}

// hintAge is how long a hint may wait at most: half the tombstone grace
// if the node drops tombstones (grave.go), and half the batch retention
// if it collects records, so that no hint carrying a batch's intent
// arrives after its record is gone; zero or negative if neither.
func hintAge(cfg Config) time.Duration {
	age := cfg.TombstoneGrace / 2
	if r := cfg.BatchRetention / 2; r > 0 && (age <= 0 || r < age) {
		age = r
	}
	return age
}
