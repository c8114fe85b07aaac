package node

import (
	"fmt"
	"slices"
	"time"

	"github.com/memdb/memdb/clock"
	"github.com/memdb/memdb/net"
	"github.com/memdb/memdb/node/coord"
	"github.com/memdb/memdb/node/store"
)

// Batches: several keys written atomically, on any nodes, by a coordinator
// whose death blocks nobody (design/batches.md; the package doc has the
// argument). Three steps:
//
//  1. Intents. The coordinator stamps the batch with one version T and
//     writes each key's intent (token, T, value or tombstone) to the key's
//     replicas, as a write at quorum in every replica group whatever
//     level was asked: an intent is part of the key's state (store's
//     intent.go), so replication, hints, streaming, catch-up, anti-entropy
//     and compaction carry it like any state, and replicas sync it
//     whatever the fsync mode.
//  2. Decision. One Paxos compare-and-set on the batch's record key,
//     absent → committed at T if every key's intent met its quorum, else
//     absent → aborted. It is the only place the batch is decided, so it
//     cannot be both; the client hears the outcome once it is decided.
//  3. Resolution, in the background: each intent becomes the batch's
//     write at T (a register write, which settles it) or an aborted
//     marker, sent to every replica, hinted where it does not land.
//
// A quorum read that finds an undecided intent looks its record up (a
// serial read) before it answers: committed at the intent's T, the batch's
// value is the read's (and is repaired onto the replicas); otherwise the
// key's last committed state is. A sweeper on every replica settles
// intents left undecided longer than a few request timeouts the same way,
// aborting through the record what nobody decided.

// Collection (records: batchgc.go, where Config.BatchRetention is
// positive; aborted markers are kept forever yet: PAPER §2 and §6). This
// is the rule a collector must keep, where it binds. A replica of batch
// B's record may drop it (its value and its Paxos state) only once all
// of these hold:
//
//  1. Retention: B was decided longer ago than the token retention
//     window, which exceeds (a) any client's retry deadline for the token
//     plus the longest an attempt can take from its client's send to its
//     decision's proposal, so no attempt can still propose from absence
//     (and commit a batch its client heard aborted), and no retrying
//     client hears "aborted" for a committed token; and
//     (b) the hint window (Config.HintWindow), the longest a hint holding
//     one of B's intents can still be on its way.
//  2. Settled ring: this node is a member of a ring with no movement in
//     flight, so no leaving node's push, which no replica check below
//     sees, can still carry an intent of B.
//  3. If B committed at T, every replica on that ring of every key of B
//     holds, durably (a resolution written at fsync none can be lost by
//     a crash, leaving the intent), a state at or past T and no undecided
//     intent of B. An intent held undecided past the window by a replica
//     that was away is otherwise settled by a sweeper that finds no
//     record: it aborts the batch through a fresh record, and if no
//     replica of that key took T, the committed write is lost there while
//     the other keys keep it. This needs the record to name B's keys,
//     as a record does since they were added (store.CommitRecord; one of
//     the old form, 'C' and T, is kept for good). An aborted record needs
//     no such check: an intent of it that finds no record is aborted
//     again by the same compare-and-set from absence, the same outcome.
//
// After that, an intent of B arriving late is harmless: one of the
// committed attempt merges below a state at or past T and is dropped;
// one of another attempt, or of an aborted B, finds no record and is
// aborted through a fresh one (a marker; no value changes).
//
// An aborted marker of B may be dropped on 1 and 2 alone: a pending copy
// arriving later is undecided again, looked up and aborted (by the record
// or a fresh one), and readers meanwhile read the key's settled state. A
// marker dropped on one replica but held by another comes back through
// anti-entropy, so digests must leave expired markers out, as they do
// expired tombstones (grave.go), before markers can be dropped at all.
//
// The planted bug a collector must ship with: a record collected on 1
// and 2 without 3 (while an intent of it is still in flight or held
// undecided), which the simulator sees as a committed batch that is not
// all or nothing after heal.

// batchRun is one batch this node coordinates.
type batchRun struct {
	token  []byte
	stamp  clock.Timestamp
	writes []net.BatchWrite
	reply  func(net.Message)
	// left counts the keys whose intents have not met their quorum or
	// failed; failed says one did not meet it.
	left   int
	failed error
}

// sweepAfter is how long an intent may stay undecided before the
// replicas' sweepers settle it: several request timeouts, so that a live
// coordinator decides first. sweepsInFlight bounds the keys one node
// settles at a time.
const (
	sweepAfter     = 4
	sweepsInFlight = 32
)

// startBatch checks client c's batch id and starts it.
func (n *Node) startBatch(c net.ConnID, id uint64, m *net.Batch) {
	if err := net.CheckBatch(m.Writes); err != nil {
		n.fail(c, id, net.CodeOf(err), "%v", err)
		return
	}
	for _, w := range m.Writes {
		if !n.checkKey(c, id, w.Key) || !n.checkValue(c, id, w.Value) || n.holdsCounter(c, id, w.Key, "a batch") {
			return
		}
	}
	if n.full(c, id) {
		return
	}
	if n.err != nil {
		n.fail(c, id, net.CodeUnavailable, "node %d cannot write until it restarts: %v", n.cfg.ID, n.err)
		return
	}
	// Every key's quorum must be up before anything is written, so that a
	// refusal here is clean: nothing was written.
	for _, w := range m.Writes {
		gs, all := n.groups(w.Key)
		if !n.reachable(c, id, "batch", gs, all, net.Quorum) {
			return
		}
	}
	b := &batchRun{token: slices.Clone(m.Token), writes: m.Writes, left: len(m.Writes),
		reply: func(a net.Message) { n.reply(c, id, a) }}
	for i := range b.writes {
		b.writes[i].Key, b.writes[i].Value = slices.Clone(b.writes[i].Key), slices.Clone(b.writes[i].Value)
	}
	n.stats.Batches++
	n.stamp(func(t clock.Timestamp) {
		if t.IsZero() {
			n.fail(c, id, net.CodeUnavailable, "node %d could not reserve a timestamp (its log broke), so did not write: %v", n.cfg.ID, n.err)
			return
		}
		b.stamp = t
		for _, w := range b.writes {
			n.writeIntent(b, w)
		}
	})
}

// intent is w's intent in batch b.
func (b *batchRun) intent(w net.BatchWrite) store.Intent {
	return store.Intent{Token: b.token, Stamp: b.stamp, Value: w.Value, Deleted: w.Deleted}
}

// keys are the keys b writes, in the client's order (its record names
// them).
func (b *batchRun) keys() [][]byte {
	keys := make([][]byte, len(b.writes))
	for i, w := range b.writes {
		keys[i] = w.Key
	}
	return keys
}

// writeIntent writes w's intent of batch b to the key's replicas at
// quorum in every group; b hears whether it met it.
func (n *Node) writeIntent(b *batchRun, w net.BatchWrite) {
	gs, all := n.groups(w.Key)
	level := net.Quorum
	if n.mutant(MutantIntentsAtOne) {
		level = net.One
	}
	o := n.ops.Write(n.opID(), coord.NewWrite(store.Entry(w.Key, store.IntentAt(b.intent(w))), level, gs, all, n.view.Epoch), n.now())
	o.Respond = func(a net.Message) { n.intentAnswered(b, w, a) }
	// Half a request timeout, so that the decision has the other half.
	n.startWrite(o, n.cfg.RequestTimeout/2)
}

// intentAnswered records whether w's intent met its quorum (a Done) or not;
// once every key is answered, the batch is decided.
func (n *Node) intentAnswered(b *batchRun, w net.BatchWrite, a net.Message) {
	e, failed := a.(*net.Error)
	if failed && b.failed == nil {
		b.failed = fmt.Errorf("key %q: %s", w.Key, e.Message)
	}
	if !failed && n.mutant(MutantResolveEarly) {
		n.writeBehind(w.Key, store.RegisterAt(w.Value, w.Deleted, b.stamp), n.resolveWait())
	}
	if b.left--; b.left > 0 {
		return
	}
	n.decideBatch(b)
}

// decideBatch runs batch b's decision: commit at its version if every
// intent met its quorum, else abort; then answers its client with what
// the record says (another attempt of the batch may have decided it) and
// resolves b's intents.
func (n *Node) decideBatch(b *batchRun) {
	rec := store.CommitRecord(b.stamp, b.keys())
	if b.failed != nil {
		rec = store.AbortRecord()
		if n.mutant(MutantBlindAbort) {
			n.resolveBatch(b, store.Aborted, clock.Timestamp{})
			n.stats.BatchesAborted++
			b.reply(&net.Error{Code: net.CodeAborted, Message: fmt.Sprintf("batch aborted: %v", b.failed)})
			return
		}
	}
	n.internal(&net.CAS{Key: store.RecordKey(b.token), New: rec}, func(a net.Message) {
		switch a := a.(type) {
		case *net.Bool:
			if a.Value {
				o, t, _ := store.ParseRecord(true, rec)
				n.batchDecided(b, o, t)
				return
			}
			// Decided already: by another attempt of this batch, or
			// aborted by a sweeper. Read what.
			n.lookupBatch(b.token, func(o store.Outcome, t clock.Timestamp, err error) {
				if err != nil || o == store.Undecided {
					n.stats.Unknown++
					b.reply(&net.Error{Code: net.CodeUnknownOutcome, Message: fmt.Sprintf("the batch's record could not be read back: %v", err)})
					return
				}
				n.batchDecided(b, o, t)
			})
		case *net.Error:
			n.stats.Unknown++
			b.reply(&net.Error{Code: net.CodeUnknownOutcome, Message: fmt.Sprintf("the batch's decision did not finish (%s): it may yet commit; retry with the same token", a.Message)})
		}
	})
}

// batchDecided answers batch b's client with outcome o (committed at t)
// and resolves b's intents with it.
func (n *Node) batchDecided(b *batchRun, o store.Outcome, t clock.Timestamp) {
	n.resolveBatch(b, o, t)
	if o == store.Committed {
		n.stats.BatchesCommitted++
		b.reply(&net.Done{Version: t})
		return
	}
	n.stats.BatchesAborted++
	why := "another attempt or a sweeper aborted it"
	if b.failed != nil {
		why = b.failed.Error()
	}
	b.reply(&net.Error{Code: net.CodeAborted, Message: "batch aborted; none of its writes applied: " + why})
}

// resolveBatch settles each of b's intents by outcome o (committed at t).
func (n *Node) resolveBatch(b *batchRun, o store.Outcome, t clock.Timestamp) {
	for _, w := range b.writes {
		if v, ok := n.decide(b.intent(w), o, t); ok {
			n.writeBehind(w.Key, v, n.resolveWait())
		}
	}
}

// decide is store.Decide, with MutantNoTokenCheck's planted bug: an
// intent of any attempt of a committed batch applies.
func (n *Node) decide(i store.Intent, o store.Outcome, t clock.Timestamp) (store.Version, bool) {
	if n.mutant(MutantNoTokenCheck) && o == store.Committed {
		t = i.Stamp
	}
	return store.Decide(i, o, t)
}

// lookupBatch reads the record of the batch with token (a serial read).
func (n *Node) lookupBatch(token []byte, done func(store.Outcome, clock.Timestamp, error)) {
	n.internal(&net.Get{Key: store.RecordKey(token)}, func(a net.Message) {
		switch a := a.(type) {
		case *net.Value:
			o, t, err := store.ParseRecord(a.Found, a.Value)
			done(o, t, err)
		case *net.Error:
			done(store.Undecided, clock.Timestamp{}, fmt.Errorf("reading the batch's record: %s", a.Message))
		default:
			done(store.Undecided, clock.Timestamp{}, fmt.Errorf("reading the batch's record: a %v", a.Kind()))
		}
	})
}

// resolveRead looks up the records of the undecided intents read o found,
// and goes on with the read once each is known.
func (n *Node) resolveRead(o *coord.Op, intents []store.Intent) {
	for _, i := range intents {
		n.lookupBatch(i.Token, func(out store.Outcome, t clock.Timestamp, err error) {
			if err != nil {
				n.env.Log.Debug("a read could not look up a batch's record", "key", string(o.R.Key), "err", err)
				n.do(o, o.Unresolved(err))
				return
			}
			v, ok := n.decide(i, out, t)
			n.do(o, o.Decided(v, ok))
		})
	}
}

// writeBehind writes state v of key to every replica in the background:
// replicas that do not acknowledge it within wait get a hint.
func (n *Node) writeBehind(key []byte, v store.Version, wait time.Duration) {
	e, began := store.Entry(key, v), n.now()
	_, all := n.groups(key)
	for _, id := range all {
		switch {
		case id == uint16(n.cfg.ID):
			n.applyEntries([]net.Entry{e}, func(error) {})
		case n.up(id):
			n.behind++
			n.ask(id, &net.Replicate{Epoch: n.view.Epoch, Entries: []net.Entry{e}, Carry: n.carry(net.CarryCopy)}, wait, func(m net.Message) {
				n.behind--
				if _, ok := m.(*net.Done); !ok {
					n.hint(id, e, began)
				}
			})
		default:
			n.hint(id, e, began)
		}
	}
}

// resolveWait is how long a batch's resolution waits for a replica before
// it hints it: a quarter of a request timeout, as a hint batch waits
// (PAPER bug 22), so that a resolution lost is sent again within a second
// or so (bug 59: one lost at the end of a run waited two seconds).
func (n *Node) resolveWait() time.Duration { return n.cfg.RequestTimeout / 4 }

// sweepIntents settles the intents this node holds that stayed undecided
// for sweepAfter request timeouts: each key's record is looked up, and an
// undecided one is aborted (through the record, never around it).
func (n *Node) sweepIntents() {
	keys := n.store.WithIntents()
	if len(keys) == 0 && len(n.intentsSince) == 0 {
		return
	}
	now := n.now()
	seen := make(map[string]time.Duration, len(keys))
	for _, k := range keys {
		// Each intent is timed from when this node first saw it: a key
		// with an aborted marker or a stream of batches always has some
		// intent, and timing the key would sweep fresh ones (found by
		// review: a live coordinator's batch aborted 0.6 s in).
		v, _ := n.store.Get([]byte(k))
		var due []store.Intent
		for _, i := range v.Undecided() {
			id := k + "\x00" + string(i.Token) + "\x00" + i.Stamp.String()
			since, ok := n.intentsSince[id]
			if !ok {
				since = now
			}
			seen[id] = since
			if now-since >= sweepAfter*n.cfg.RequestTimeout {
				due = append(due, i)
			}
		}
		if len(due) == 0 || n.sweeping[k] || len(n.sweeping) >= sweepsInFlight {
			continue
		}
		n.sweeping[k] = true
		n.stats.IntentsSwept++
		key := []byte(k)
		left := len(due)
		for _, i := range due {
			n.settleIntent(key, i, func() {
				if left--; left == 0 {
					delete(n.sweeping, k)
				}
			})
		}
	}
	n.intentsSince = seen
}

// settleIntent decides intent i of key by its batch's record, aborting the
// batch if nobody decided it, and writes what it became to the replicas.
func (n *Node) settleIntent(key []byte, i store.Intent, done func()) {
	n.lookupBatch(i.Token, func(o store.Outcome, t clock.Timestamp, err error) {
		switch {
		case err != nil:
			done()
		case o == store.Undecided && n.mutant(MutantBlindAbort):
			v, _ := store.Decide(i, store.Aborted, t)
			n.settleSwept(key, v)
			done()
		case o == store.Undecided:
			n.internal(&net.CAS{Key: store.RecordKey(i.Token), New: store.AbortRecord()}, func(a net.Message) {
				if b, ok := a.(*net.Bool); ok && b.Value {
					v, _ := store.Decide(i, store.Aborted, t)
					n.settleSwept(key, v)
				}
				done() // decided by another meanwhile, or unknown: the next sweep reads it
			})
		default:
			if v, ok := n.decide(i, o, t); ok {
				n.settleSwept(key, v)
			}
			done()
		}
	})
}

// settleSwept writes what a swept intent of key became to the key's replicas,
// and here too: a node that is no longer one (the ring moved) still
// holds the intent, and would sweep it again and again.
func (n *Node) settleSwept(key []byte, v store.Version) {
	n.writeBehind(key, v, n.resolveWait())
	if _, all := n.groups(key); !slices.Contains(all, uint16(n.cfg.ID)) {
		n.applyEntries([]net.Entry{store.Entry(key, v)}, func(error) {})
	}
}
