package node

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"

	"github.com/memdb/memdb/clock"
	"github.com/memdb/memdb/net"
	"github.com/memdb/memdb/node/coord"
	"github.com/memdb/memdb/node/counter"
	"github.com/memdb/memdb/node/oplog"
	"github.com/memdb/memdb/node/store"
)

// Counters: a replica of the key leads an increment — it raises its own
// slot (node/store's Counter kind), logs it with the increment's id and
// syncs it whatever the fsync mode, then replicates the slot's state as a
// write at the request's level; node/counter judges retries. A node that
// is not a replica forwards the increment to the first live one.

// flagGeneration is the flag record of the node's log generation: 8 bytes
// of generation id, then 8 of the increment table's horizon.
const flagGeneration = "generation"

// generationRecord is the flag record of generation gen and horizon h.
func generationRecord(gen, h uint64) oplog.Record {
	v := binary.BigEndian.AppendUint64(nil, gen)
	return oplog.Record{Type: oplog.TypeFlag, Key: []byte(flagGeneration), Value: binary.BigEndian.AppendUint64(v, h)}
}

// replayGeneration restores the generation and the table's horizon.
func (n *Node) replayGeneration(r oplog.Record) error {
	if len(r.Value) != 16 {
		return fmt.Errorf("generation record of %d bytes, want 16", len(r.Value))
	}
	n.gen = binary.BigEndian.Uint64(r.Value)
	n.incrs.Boot(binary.BigEndian.Uint64(r.Value[8:]))
	return nil
}

// replayCounter merges a counter record at boot and restores the increment
// its tag names, if any.
func (n *Node) replayCounter(r oplog.Record) error {
	v, tag, err := store.FromRecord(r)
	if err != nil {
		return fmt.Errorf("counter record for key %q: %w", r.Key, err)
	}
	n.store.Apply(r.Key, v)
	if len(tag) > 0 {
		op, a, err := counter.ParseTag(tag, r.Key)
		if err != nil {
			return fmt.Errorf("counter record for key %q: %w", r.Key, err)
		}
		n.incrs.Record(op, a)
	}
	return nil
}

// incrRecords yields, for compaction, the increments the table keeps
// (after forgetting those past the retention window), each as a tagged
// record with no slots, and the generation with the horizon.
func (n *Node) incrRecords(yield func(oplog.Record) bool) bool {
	if f := n.incrs.Prune(n.env.Clock.Now().Add(-n.cfg.IncrRetention)); f > 0 {
		n.env.Log.Debug("forgot increments past the retention window", "ops", f, "horizon", n.incrs.Horizon())
	}
	if n.gen == 0 {
		return true
	}
	if !yield(generationRecord(n.gen, n.incrs.Horizon())) {
		return false
	}
	empty := store.CounterAt(nil)
	for op, a := range n.incrs.All {
		if !yield(store.TaggedRecord([]byte(a.Key), empty, counter.Tag(op, a))) {
			return false
		}
	}
	return true
}

// startIncr serves increment m, sent by a client (from 0) or forwarded by
// peer from; first is the clock of its first attempt, reply takes the
// answer.
func (n *Node) startIncr(reply func(net.Message), m *net.Incr, first clock.Timestamp, from uint16) {
	fail := func(code net.Code, format string, args ...any) {
		reply(&net.Error{Code: code, Message: fmt.Sprintf(format, args...)})
	}
	if m.Delta == 0 {
		fail(net.CodeUnsupported, "an increment of 0 changes nothing; read the counter instead")
		return
	}
	// Whatever the frame carried, the first clock is seen: the stamp of an
	// increment applied now is after it (node/counter's horizon rests on
	// that).
	n.lamport.Observe(first)
	op := counter.OpID{Session: m.Session, Seq: m.Seq}
	if w, ok := n.incrWaiting[op]; ok {
		// An attempt of the same increment is being made durable: judge
		// this one once it is.
		n.incrWaiting[op] = append(w, func() { n.startIncr(reply, m, first, from) })
		return
	}
	switch {
	case n.err != nil:
		fail(net.CodeUnavailable, "node %d cannot write until it restarts: %v", n.cfg.ID, n.err)
		return
	case n.life == Rebuilding:
		fail(net.CodeUnavailable, "node %d is rebuilding lost state and leads no increments until it has; nothing was done", n.cfg.ID)
		return
	}
	if n.gen == 0 {
		// No increment applied in this log generation: the table covers
		// nothing before now. (A wiped node starts here; its clock is past
		// what its rebuild brought, its lost generation's slots included.)
		n.incrs.Boot(n.lamport.Now().Counter)
	}
	verdict, applied := n.incrs.Judge(op, m.Attempt, first)
	if n.mutant(MutantIncrTableSkipped) {
		verdict = counter.Apply
	}
	gs, all := n.groups(m.Key)
	switch verdict {
	case counter.Forwarded:
		// A retry of an increment this node forwarded goes to the same
		// replica, which judges it, if that is still where it would go
		// (PAPER bug 78). A peer's forward of it, or one this node would
		// lead now, or send elsewhere, may meet an earlier attempt
		// applied where it cannot look.
		to, _ := n.incrs.ForwardedTo(op)
		if live := n.live(all); from == 0 && len(gs) > 0 && !slices.Contains(all, uint16(n.cfg.ID)) && len(live) > 0 && live[0] == to {
			n.forwardIncr(reply, m, first, from, all)
			return
		}
		n.stats.Unknown++
		fail(net.CodeUnknownOutcome, "node %d forwarded an earlier attempt of this increment to node %d and cannot send this one there; it was not applied now", n.cfg.ID, to)
		return
	case counter.Unknown:
		n.stats.Unknown++
		fail(net.CodeUnknownOutcome, "node %d cannot tell whether it applied this increment (a retry it has no record of, older than what it can judge); it was not applied now", n.cfg.ID)
		return
	case counter.Again:
		// Applied before: its slot (or a later state of it) goes to the
		// replicas again at this request's level, so the answer holds
		// what a first answer would have.
		n.stats.IncrRetries++
		n.replicateSlot(reply, m.Key, m.Level, applied.Value, 0)
		return
	}
	if len(gs) > 0 && !slices.Contains(all, uint16(n.cfg.ID)) {
		n.forwardIncr(reply, m, first, from, all)
		return
	}
	if len(gs) == 0 {
		fail(net.CodeUnavailable, "no node owns this key yet (node %d has no ring; is it still joining?)", n.cfg.ID)
		return
	}
	if live := n.live(all); !gs.Met(m.Level, live) {
		n.stats.Unavailable++
		fail(net.CodeUnavailable, "%s increment needs replicas %v at that level, only %v are up; nothing was done", coord.LevelName(m.Level), gs, live)
		return
	}
	if msg := n.overMemory(); msg != "" {
		fail(net.CodeUnavailable, "%s", msg)
		return
	}
	cur := n.ownCounter(m.Key)
	if cur.Kind == store.Register && cur.Live() {
		fail(net.CodeWrongKind, "the key holds a value, not a counter: set it, or increment another key")
		return
	}
	n.incrWaiting[op] = nil
	n.stamp(func(t clock.Timestamp) {
		// Attempts that arrive until this one is durable and in the table
		// wait for it (a duplicated forward, a client's retry), then are
		// judged: taking them off at the stamp let one that came while
		// the record was syncing be applied a second time (PAPER bug 43).
		again := func() {
			waiting := n.incrWaiting[op]
			delete(n.incrWaiting, op)
			for _, w := range waiting {
				w()
			}
		}
		if t.IsZero() {
			fail(net.CodeUnavailable, "node %d could not reserve a timestamp (its log broke), so did not increment: %v", n.cfg.ID, n.err)
			again()
			return
		}
		// The generation is drawn by the first increment that is applied,
		// and logged with its slot.
		gen, newGen := n.gen, n.gen == 0
		if newGen {
			gen = n.env.Rand.Uint64() | 1 // never 0, which means "none yet"
			if n.mutant(MutantSlotReused) {
				gen = uint64(n.cfg.ID)
			}
		}
		owner, slotGen := n.slotOf(m.Key, gen)
		_, slot, value, err := store.Incremented(n.ownCounter(m.Key), owner, slotGen, m.Delta, t.Counter)
		if err != nil {
			code := net.CodeInternal
			if errors.Is(err, store.ErrOverflow) {
				code = net.CodeOverflow
			}
			fail(code, "%v; nothing was applied", err)
			again()
			return
		}
		a := counter.Applied{Key: string(m.Key), Value: value, Version: t.Counter, At: n.env.Clock.Now()}
		recs := []oplog.Record{store.TaggedRecord(m.Key, slot, counter.Tag(op, a))}
		if newGen {
			n.gen = gen
			recs = append([]oplog.Record{generationRecord(n.gen, n.incrs.Horizon())}, recs...)
		}
		n.pendingSlots[string(m.Key)] = slot
		// Until it is durable the record is in no state a compaction reads
		// (not in the store, not in the table): a compaction that began
		// meanwhile takes it from here, as it takes writes in flight.
		n.nextUnapplied++
		batch := n.nextUnapplied
		n.unapplied[batch] = recs
		// Durable before it leaves the node, whatever the fsync mode: a
		// crash must not take back a slot a replica holds (its next write
		// would reuse versions), nor an id a client was answered for.
		persist := n.persist
		if n.mutant(MutantSlotNotDurable) {
			persist = n.appendOnly
		}
		persist(recs, func() {
			delete(n.unapplied, batch)
			if p, ok := n.pendingSlots[string(m.Key)]; ok && p.Stamp == slot.Stamp {
				delete(n.pendingSlots, string(m.Key))
			}
			n.store.Apply(m.Key, slot)
			n.marks[t.Node] = max(n.marks[t.Node], t.Counter)
			n.incrs.Record(op, a)
			n.stats.Incrs++
			n.replicateSlot(reply, m.Key, m.Level, value, m.Delta)
			again()
		})
	})
}

// slotOf is the id of the slot this node raises for key: its own.
func (n *Node) slotOf(key []byte, gen uint64) (uint16, uint64) {
	if n.mutant(MutantForeignSlot) {
		if slots, err := store.Slots(n.ownCounter(key)); err == nil && len(slots) > 0 {
			return slots[0].Node, slots[0].Gen
		}
	}
	return uint16(n.cfg.ID), gen
}

// appendOnly logs recs and calls done at once, without waiting for them
// to be durable: MutantSlotNotDurable's persist.
func (n *Node) appendOnly(recs []oplog.Record, done func()) {
	if n.err != nil || n.log == nil {
		return
	}
	if err := n.log.Append(recs...); err != nil {
		n.broke(err)
		return
	}
	done()
}

// ownCounter is the key's state here with this node's increments that are
// not yet durable merged in: what the next increment raises.
func (n *Node) ownCounter(key []byte) store.Version {
	v, _ := n.store.Get(key)
	if p, ok := n.pendingSlots[string(key)]; ok {
		v, _ = store.Merge(v, p)
	}
	return v
}

// replicateSlot sends this node's slot of key to its replicas as a write
// at level, and answers value once the level is met; delta is the
// increment that raised the slot (0 for a retry answered again).
func (n *Node) replicateSlot(reply func(net.Message), key []byte, level net.Consistency, value, delta int64) {
	cur, _ := n.store.Get(key)
	slots, err := store.Slots(cur)
	owner, gen := n.slotOf(key, n.gen)
	i := slices.IndexFunc(slots, func(s store.Slot) bool { return s.Node == owner && s.Gen == gen })
	if err != nil || i < 0 {
		reply(&net.Error{Code: net.CodeInternal, Message: fmt.Sprintf("node %d lost its own slot of a counter it applied: %v", n.cfg.ID, err)})
		return
	}
	gs, all := n.groups(key)
	o := n.ops.Write(n.opID(), coord.NewWrite(store.Entry(key, store.CounterAt(slots[i:i+1])), level, gs, all, n.view.Epoch), n.now())
	o.Respond = reply
	o.Done = &net.CounterValue{Value: value}
	if n.mutant(MutantHintDelta) {
		o.Delta = delta
	}
	n.startWrite(o, n.cfg.RequestTimeout)
}

// forwardIncr sends increment m to the first live replica of its key, and
// relays the answer. A forwarded increment is not forwarded again.
func (n *Node) forwardIncr(reply func(net.Message), m *net.Incr, first clock.Timestamp, from uint16, all []uint16) {
	live := n.live(all)
	if from != 0 || len(live) == 0 {
		reply(&net.Error{Code: net.CodeUnavailable, Message: fmt.Sprintf("node %d is not a replica of the key and cannot reach one of %v; nothing was done", n.cfg.ID, all)})
		return
	}
	// Remembered now, with where it goes and a clock past the first
	// (observed), so that a retry that comes while this one waits for its
	// stamp goes there too; and sent at a stamp of this node's: the lease
	// that covers it is durable, so after a restart the table's horizon
	// (the clock at boot) is past it, and past the increment's first clock.
	n.incrs.Forwarded(counter.OpID{Session: m.Session, Seq: m.Seq}, live[0], n.lamport.Now().Counter+1, n.env.Clock.Now(), n.cfg.IncrRetention)
	n.stamp(func(t clock.Timestamp) {
		if t.IsZero() {
			reply(&net.Error{Code: net.CodeUnavailable, Message: fmt.Sprintf("node %d could not reserve a timestamp (its log broke), so did not forward the increment", n.cfg.ID)})
			return
		}
		fwd := *m
		fwd.First = first
		n.ask(live[0], &fwd, n.cfg.RequestTimeout, func(a net.Message) {
			switch a.(type) {
			case *net.CounterValue, *net.Error:
				reply(a)
			default:
				reply(&net.Error{Code: net.CodeUnknownOutcome, Message: fmt.Sprintf("node %d forwarded the increment to node %d, which did not answer in %v; it may have been applied", n.cfg.ID, live[0], n.cfg.RequestTimeout)})
			}
		})
	})
}

// holdsCounter refuses a request for a register on a key this node holds
// as a counter.
func (n *Node) holdsCounter(c net.ConnID, id uint64, key []byte, what string) bool {
	if v, _ := n.store.Get(key); v.Kind == store.Counter {
		n.fail(c, id, net.CodeWrongKind, "the key holds a counter: %s does not apply to it (incr, decr and counter do)", what)
		return true
	}
	return false
}
