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
// node keeps it for the records it replicates, where Config.BatchRetention
// is positive. A record comes into a yard (grave.Yard, the tombstones'
// own) when it is applied here, with the node's steady time; a sweep,
// every eighth of the retention at most an anti-entropy interval, looks
// at the yard in the order records came and
//
//  1. stops at the first record here for less than the retention (hints
//     wait at most half of it: hintAge), and keeps one not yet expired by
//     the clock (store.RecordExpired: the node's clock had not reached
//     its counter a retention ago) or with a Paxos round in progress;
//  2. begins only on a member of a settled ring, and stops when the ring
//     moves (the tombstones' Ready and Settled);
//  3. drops an aborted record; for a committed one it asks every replica
//     of every key the record names (Holds, answered after the replica's
//     log is synced) whether it holds durably a state at or past the
//     batch's version and no undecided intent of the batch
//     (store.HoldsWrite), and drops the record at a later sweep on the
//     same ring once all said yes. A committed record of the old form
//     (no keys) is kept.
//
// A record is dropped with its Paxos acceptor state, durably: an
// oplog.TypeForget record, synced, replays to nothing for the key —
// neither its value nor its acceptor state. As with expired tombstones,
// digests leave expired records out (net.DigestBefore's Records) and a
// copy of one streamed back to a node that holds nothing of the key is
// not stored (leftOut), so that replicas that drop a record a sweep
// apart do not hand it back to each other for ever.

// recordChecksInFlight bounds the records one node checks at a time.
const recordChecksInFlight = 32

// collecting reports whether the node collects batch records.
func (n *Node) collecting() bool { return n.cfg.BatchRetention > 0 }

// noteRecord keeps record key, decided at stamp and just applied at steady
// time at, in the yard the collector sweeps.
func (n *Node) noteRecord(key []byte, stamp clock.Timestamp, at time.Duration) {
	n.records.Add(grave.Grave{Key: string(key), Stamp: stamp, At: at})
}

// recordSweepEvery is how often the record yard is swept: sweepPeriod of
// the retention.
func (n *Node) recordSweepEvery() time.Duration { return n.sweepPeriod(n.cfg.BatchRetention) }

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
		busy := n.unappliedKeys()
		more := n.records.Turn(grave.Slice, func(r grave.Grave) grave.Verdict {
			if busy[r.Key] {
				return grave.Keep // a write of it not applied yet would replay after the forget
			}
			v := n.judgeRecord(r, epoch)
			switch v {
			case grave.Drop:
				n.dropRecord(r)
				recs = append(recs, oplog.Record{Type: oplog.TypeForget, Key: []byte(r.Key)})
				delete(n.recordChecks, r.Key)
			case grave.Gone:
				delete(n.recordChecks, r.Key) // or a check would hold its place for ever
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
	if !store.RecordExpired(n.recordsExpired(), v) {
		// Not expired by the clock yet (it had not passed the record's
		// stamp a retention ago): digests still count the record, and a
		// copy of it would be taken back.
		return grave.Keep
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
	n.env.Log.Debug("batch record collected", "key", r.Key, "stamp", r.Stamp)
}

// Records is the number of batch records the node holds, and dropped how
// many it collected since boot.
func (n *Node) Records() (held int, dropped uint64) {
	for k := range n.store.Keys().All() {
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

// recordsExpired is the node's clock as it read the retention ago (zero
// if it has not run that long, or collects no records): a record stamped
// at or before it is expired, and digests leave it out, so that a replica
// that collected it and one that still holds it compare equal.
func (n *Node) recordsExpired() clock.Timestamp {
	if !n.collecting() {
		return clock.Timestamp{}
	}
	return n.retentionAgo.Ago(n.steady)
}

// leftOut reports whether entry e, of a key this node holds nothing of
// (no state, no Paxos round), is not stored: an expired tombstone
// (stamped at or before expired), or, on a settled ring, an expired batch
// record (at or before records) — a copy streamed back from a replica
// that has not collected it yet, which would keep every replica of a
// record taking it back from the others. Leaving a record out is safe
// for its decision: a Paxos round on the key meets a quorum, and every
// acceptor that accepted the record keeps its acceptance until it holds
// the record or collects it. It is taken during a movement (a new
// replica's copy, before the old ones forget theirs), and by a node that
// is not a member (one rebuilding lost state takes every copy back).
func (n *Node) leftOut(e net.Entry, expired, records clock.Timestamp) bool {
	v := store.FromEntry(e)
	if v.Tombstone() && !expired.Less(e.Stamp) {
		return true
	}
	return store.RecordExpired(records, v) && store.IsRecordKey(e.Key) && n.life == Member && n.settled()
}

// unmarked is entry e (a state with intents) without the aborted markers
// that records (the node's clock a retention ago) expires, on a member
// of a settled ring: a marker collected here and still held by a replica that has not
// collected it yet would otherwise come back with every copy of the key
// (store.DropMarkers). nothing says nothing is left to store.
func (n *Node) unmarked(e net.Entry, records clock.Timestamp) (_ net.Entry, nothing bool) {
	if records.IsZero() || n.life != Member || !n.settled() {
		return e, false
	}
	v, changed := store.DropMarkers(store.FromEntry(e), records)
	if !changed {
		return e, false
	}
	return store.Entry(e.Key, v), v.Nothing()
}

// sweepMarkers drops, every half retention, the aborted markers that the
// retention expires from the keys this node holds, grave.Slice keys a
// turn, each slice made durable before the next: for each key, an
// oplog.TypeForget and the state without them (a replay must not merge
// the markers back in), or the TypeForget alone if nothing is left. Keys
// with a write appended and not yet applied wait for the next walk (the
// log would replay that write before the forget). It starts over if the
// ring moves.
func (n *Node) sweepMarkers() {
	if !n.collecting() || n.marking || n.now() < n.markedAt+n.cfg.BatchRetention/2 || !(graver{n}).Ready() {
		return
	}
	n.marking = true
	epoch := n.view.Epoch
	n.withKeys(func(keys store.Keys) { n.dropMarkersOf(epoch, keys) })
}

// dropMarkersOf drops, grave.Slice keys a turn, the expired markers of
// keys, while the ring of epoch stays settled.
func (n *Node) dropMarkersOf(epoch uint64, keys store.Keys) {
	var step func()
	step = func() {
		if !(graver{n}).Settled(epoch) {
			n.marking = false
			return
		}
		bound, busy := n.recordsExpired(), n.unappliedKeys()
		slice, rest := keys.Cut(grave.Slice)
		var recs []oplog.Record
		for key := range slice.All() {
			v, ok := n.store.Get([]byte(key))
			if !ok || v.Pending == nil || busy[key] {
				continue
			}
			w, changed := store.DropMarkers(v, bound)
			if !changed {
				continue
			}
			n.store.Drop([]byte(key))
			recs = append(recs, oplog.Record{Type: oplog.TypeForget, Key: []byte(key)})
			if !w.Nothing() {
				n.apply([]byte(key), w, n.steady)
				recs = append(recs, store.Record([]byte(key), w))
			}
			n.stats.MarkersDropped += uint64(len(v.Intents()) - len(w.Intents()))
		}
		keys = rest
		next := func() {
			if keys.Len() > 0 {
				n.later(0, step)
				return
			}
			n.markedAt, n.marking = n.now(), false
		}
		if len(recs) == 0 {
			next()
			return
		}
		n.persist(recs, next)
	}
	step()
}

// unappliedKeys are the keys of the writes appended to the log and not
// yet applied.
func (n *Node) unappliedKeys() map[string]bool {
	if len(n.unapplied) == 0 {
		return nil
	}
	out := make(map[string]bool)
	for _, recs := range n.unapplied {
		for _, r := range recs {
			out[string(r.Key)] = true
		}
	}
	return out
}

// Markers is the number of aborted markers the node holds (a walk of its
// keys: for measurement), and dropped how many it collected since boot.
func (n *Node) Markers() (held int, dropped uint64) {
	for k := range n.store.Keys().All() {
		v, _ := n.store.Get([]byte(k))
		for _, i := range v.Intents() {
			if i.Aborted {
				held++
			}
		}
	}
	return held, n.stats.MarkersDropped
}
