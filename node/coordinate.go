package node

import (
	"fmt"
	"time"

	"github.com/memdb/memdb/clock"
	"github.com/memdb/memdb/net"
	"github.com/memdb/memdb/node/coord"
	"github.com/memdb/memdb/node/quorum"
	"github.com/memdb/memdb/node/store"
)

// An op is a request this node coordinates: a client's write or read that
// waits for replicas. Its state and the decisions on it are node/coord's;
// the op adds what the node keeps around it: who asked, and the timer.
// Peer answers find it by its id, which is the request id of every frame
// sent for it.
type op struct {
	id    uint64
	conn  net.ConnID
	req   uint64
	w     *coord.Write // a write, or
	r     *coord.Read  // a read
	timer clock.Timer
	// counter says that read r is a counter read.
	counter bool
	// reply, if set, takes the answer instead of the client connection
	// (an increment: its client, or the peer that forwarded it), and
	// answer is what a write that met its level answers instead of Done.
	reply  func(net.Message)
	answer net.Message
	// delta is the increment a counter write carries the slot of; set only
	// under MutantHintDelta (hintWrite).
	delta int64
	// began is when the request began (the node's time since boot): a
	// hint of its write is as old as the write, not as the moment its
	// replica was given up on (a coordinator paused in between).
	began time.Duration
	// restamps counts the times write w was stamped again (restamp).
	restamps int
}

// respond answers o's client with m.
func (n *Node) respond(o *op, m net.Message) {
	if o.reply != nil {
		o.reply(m)
		return
	}
	n.reply(o.conn, o.req, m)
}

// respondErr answers o's client with an error.
func (n *Node) respondErr(o *op, code net.Code, format string, args ...any) {
	n.respond(o, &net.Error{Code: code, Message: fmt.Sprintf(format, args...)})
}

func (n *Node) newOp() *op {
	n.nextOp++
	o := &op{id: n.nextOp, began: n.now()}
	n.ops[o.id] = o
	return o
}

// finish forgets o.
func (n *Node) finish(o *op) {
	if o.timer != nil {
		o.timer.Stop()
	}
	delete(n.ops, o.id)
}

// coordinateWrite stamps a client's write and sends it to the key's
// replicas; the client hears once enough have made it durable.
func (n *Node) coordinateWrite(c net.ConnID, id uint64, key []byte, v store.Version, level net.Consistency) {
	if n.err != nil {
		n.fail(c, id, net.CodeUnavailable, "node %d cannot write until it restarts: %v", n.cfg.ID, n.err)
		return
	}
	gs, all := n.groups(key)
	if !n.reachable(c, id, "write", gs, all, level) {
		return
	}
	n.stamp(func(t clock.Timestamp) {
		if t.IsZero() {
			n.fail(c, id, net.CodeUnavailable, "node %d could not reserve a timestamp (its log broke), so did not write: %v", n.cfg.ID, n.err)
			return
		}
		o := n.newOp()
		o.conn, o.req = c, id
		v.Stamp = t
		wl := level
		if n.mutant(MutantQuorumAsOne) && (level == net.Quorum || level == net.Default) {
			wl = net.One
		}
		o.w = coord.NewWrite(store.Entry(key, v), wl, gs, all, n.view.Epoch)
		o.timer = n.env.Clock.AfterFunc(n.cfg.RequestTimeout, func() { n.writeTimedOut(o) })
		for _, r := range all {
			n.sendWrite(o, r)
		}
	})
}

// sendWrite sends write o to replica r: applied here if r is this node,
// sent if r is up, else hinted.
func (n *Node) sendWrite(o *op, r uint16) {
	switch {
	case r == uint16(n.cfg.ID):
		if n.buried(o.w.Entry, n.floor()) && !n.mutant(MutantTombstoneStaleTaken) {
			// Stamped before this node dropped a tombstone of the key
			// (a resend on a newer ring, long after): as a replica would.
			n.restamp(o, r, fmt.Errorf("node %d: the write's stamp is at or below this node's tombstone floor", n.cfg.ID))
			return
		}
		if err := n.admit([]net.Entry{o.w.Entry}); err != nil {
			n.writeAnswered(o, r, err)
			return
		}
		n.applyEntries([]net.Entry{o.w.Entry}, func(err error) { n.writeAnswered(o, r, err) })
	case n.up(r):
		n.send(r, o.id, &net.Replicate{Epoch: o.w.Epoch, Entries: []net.Entry{o.w.Entry}, Carry: n.carry(net.CarryWrite)})
	case o.w.Hint(r):
		n.hintWrite(o, r)
	}
}

// writeFenced handles replica r's refusal of write o as made on an older
// ring than r's (coord.Write.Fenced): r has just sent this node the
// membership it lacks (fenced), and the write waits for this node's ring
// to move on.
func (n *Node) writeFenced(o *op, r uint16) {
	if o.w.Fenced(r) {
		n.later(n.cfg.Gossip.ProbeInterval/4, func() { n.resendWrite(o) })
	}
}

// resendWrite sends write o again on the node's ring, once it is newer
// than the one o was sent on; until then it waits.
func (n *Node) resendWrite(o *op) {
	w := o.w
	if w.Over() {
		return
	}
	if n.view.Epoch == w.Epoch {
		n.later(n.cfg.Gossip.ProbeInterval/4, func() { n.resendWrite(o) })
		return
	}
	gs, all := n.groups(w.Entry.Key)
	w.Resend(gs, all, n.view.Epoch)
	n.stats.WritesResent++
	n.probe(ProbeWriteResent)
	n.env.Log.Debug("write resent on a newer ring", "key", string(w.Entry.Key), "epoch", w.Epoch, "replicas", all)
	for _, r := range all {
		if w.Reask(r) {
			n.sendWrite(o, r)
		}
	}
	n.writeStep(o, w.Decide(), nil)
}

// maxRestamps bounds the times a write is stamped again: once should do
// (the new stamp is above the clock of every refusal heard), and a write
// refused more often fails as refused.
const maxRestamps = 3

// restamp handles replica r's refusal of write o as stamped at or below
// its tombstone floor (net.CodeStaleStamp; err says so): unless the client
// has been answered (a later write by another may then be stamped between
// the two stamps, and must not be overwritten), the write is stamped again
// — above the refusal's clock, which this node has observed — and sent to
// every replica asked, under a new id so that answers to the old stamp
// count for nothing: a replica that took the old stamp may have taken it
// under a tombstone. The deadline stays the first one.
func (n *Node) restamp(o *op, r uint16, err error) {
	if o.w.Over() || o.w.Replied() || o.restamps >= maxRestamps {
		n.writeAnswered(o, r, err)
		return
	}
	o.restamps++
	delete(n.ops, o.id)
	n.nextOp++
	o.id = n.nextOp
	n.ops[o.id] = o
	n.stats.WritesRestamped++
	n.probe(ProbeWriteRestamped)
	n.stamp(func(t clock.Timestamp) {
		if o.w.Over() {
			return
		}
		if t.IsZero() {
			n.writeAnswered(o, r, err)
			return
		}
		n.env.Log.Debug("write stamped again above a tombstone floor", "key", string(o.w.Entry.Key), "was", o.w.Entry.Stamp, "now", t, "refused by", r)
		o.w.Restamp(t)
		for _, r := range o.w.Asked {
			n.sendWrite(o, r)
		}
	})
}

// reachable checks, before anything is sent, that enough replicas are up
// for the request to meet its level, and refuses it cleanly if not.
func (n *Node) reachable(c net.ConnID, id uint64, what string, gs quorum.Joint, all []uint16, level net.Consistency) bool {
	if len(gs) == 0 {
		n.stats.Unavailable++
		n.fail(c, id, net.CodeUnavailable, "no node owns this key yet (node %d has no ring; is it still joining?)", n.cfg.ID)
		return false
	}
	live := n.live(all)
	if !gs.Met(level, live) {
		n.stats.Unavailable++
		n.fail(c, id, net.CodeUnavailable, "%s %s needs replicas %v at that level, only %v are up; nothing was done", levelName(level), what, gs, live)
		return false
	}
	return true
}

func levelName(l net.Consistency) string {
	if l == net.Default {
		return "quorum"
	}
	return l.String()
}

// writeAnswered records replica r's answer to write o: nil if the write is
// durable there, an error if r refused it.
func (n *Node) writeAnswered(o *op, r uint16, err error) {
	n.writeStep(o, o.w.Answer(r, err == nil), err)
}

// writeStep does what write o's state says: hint, answer its client,
// forget it; err is the last refusal, if any.
func (n *Node) writeStep(o *op, s coord.Step, err error) {
	w := o.w
	for _, r := range s.Hint {
		n.hintWrite(o, r)
	}
	switch s.Reply {
	case coord.Done:
		n.stats.Writes++
		if o.answer != nil {
			n.respond(o, o.answer)
		} else {
			n.respond(o, &net.Done{Version: w.Entry.Stamp})
		}
	case coord.Unavailable:
		n.respondErr(o, net.CodeUnavailable, "every replica %v refused the write: %v", w.Asked, err)
	case coord.Unknown:
		n.respondErr(o, net.CodeUnknownOutcome, "%d of %d replicas refused the write (last: %v); it may be on %v", len(w.Failed), len(w.Asked), err, w.Acked)
	}
	if s.Finish {
		n.finish(o)
	}
}

// writeTimedOut ends a write whose replicas did not all answer in time:
// those that did not get a hint, and a client still waiting hears that the
// outcome is unknown — the write may yet be applied.
func (n *Node) writeTimedOut(o *op) {
	w := o.w
	s := w.TimedOut()
	for _, r := range s.Hint {
		n.hintWrite(o, r)
	}
	if s.Reply == coord.Unknown {
		n.stats.Unknown++
		n.probeIf(len(w.Acked) > 0, ProbeWriteUnknownPartial)
		n.respondErr(o, net.CodeUnknownOutcome, "%s write: replicas %v of %v acknowledged within %v; it may still be applied",
			levelName(w.Level), w.Acked, w.Groups, n.cfg.RequestTimeout)
	}
	if s.Finish {
		n.finish(o)
	}
}

// coordinateRead asks the key's replicas for their versions and answers
// with the newest once enough have answered.
func (n *Node) coordinateRead(c net.ConnID, id uint64, key []byte, level net.Consistency, contains bool) {
	n.coordinateReadAs(c, id, key, level, contains, false)
}

// coordinateReadAs is coordinateRead, of a counter if counter.
func (n *Node) coordinateReadAs(c net.ConnID, id uint64, key []byte, level net.Consistency, contains, counter bool) {
	gs, reps := n.groups(key)
	if !n.reachable(c, id, "read", gs, reps, level) {
		return
	}
	o := n.newOp()
	o.conn, o.req = c, id
	o.r = coord.NewRead(key, level, gs, contains)
	o.r.IgnoreIntents = n.mutant(MutantReadersIgnoreIntents)
	o.counter = counter
	o.timer = n.env.Clock.AfterFunc(n.cfg.RequestTimeout, func() { n.readTimedOut(o) })
	var local bool
	for _, r := range n.live(reps) {
		o.r.Ask(r)
		if r == uint16(n.cfg.ID) {
			local = true
		} else {
			n.send(r, o.id, &net.Read{Epoch: n.view.Epoch, Key: key})
		}
	}
	if local && n.serving() {
		v, _ := n.store.Get(key)
		n.readAnswered(o, uint16(n.cfg.ID), v)
	}
}

// readAnswered records replica r's version for read o.
func (n *Node) readAnswered(o *op, r uint16, v store.Version) {
	n.readStep(o, o.r.Answer(r, v))
}

// repaired records that stale replica r took the newest version of read
// o, or not (err).
func (n *Node) repaired(o *op, r uint16, err error) {
	n.readStep(o, o.r.Repaired(r, err == nil))
}

// readStep does what read o's state says: repair stale replicas, answer
// its client, forget it.
func (n *Node) readStep(o *op, s coord.Step) {
	if s.Wait && n.mutant(MutantRepairAsync) {
		// The planted bug: repair in the background, answer now.
		for _, r := range s.Repair {
			n.repair(r, 0, o)
		}
		n.reply(o.conn, o.req, store.ReadAnswer(o.r.Result, o.r.Contains))
		n.finish(o)
		return
	}
	if s.Wait {
		n.stats.ReadRepairs += uint64(len(s.Repair))
		n.probe(ProbeReadRepairWait)
	}
	if len(s.Resolve) > 0 {
		n.resolveRead(o, s.Resolve)
	}
	for _, r := range s.Repair {
		var rid uint64
		if s.Wait {
			rid = o.id
		}
		n.repair(r, rid, o)
	}
	if s.Reply == coord.Answer {
		if o.counter {
			n.reply(o.conn, o.req, store.CounterAnswer(o.r.Result))
		} else {
			n.reply(o.conn, o.req, store.ReadAnswer(o.r.Result, o.r.Contains))
		}
	}
	if s.Finish {
		n.finish(o)
	}
}

// repair sends the newest version read o found to replica r; with rid 0 it
// wants no answer.
func (n *Node) repair(r uint16, rid uint64, o *op) {
	e := store.Entry(o.r.Key, o.r.Newest)
	if r == uint16(n.cfg.ID) {
		n.applyEntries([]net.Entry{e}, func(err error) {
			if rid != 0 {
				n.repaired(o, r, err)
			}
		})
		return
	}
	n.send(r, rid, &net.Replicate{Epoch: n.view.Epoch, Entries: []net.Entry{e}, Carry: n.carry(net.CarryCopy)})
}

func (n *Node) readTimedOut(o *op) {
	s := o.r.TimedOut()
	if s.Reply == coord.Unavailable {
		n.fail(o.conn, o.req, net.CodeUnavailable, "%s read: replicas %v of %v answered within %v",
			levelName(o.r.Level), o.r.Answerers(), o.r.Groups, n.cfg.RequestTimeout)
	}
	if s.Finish {
		n.finish(o)
	}
}

// peerAnswer routes an answer from peer from to the op it belongs to.
func (n *Node) peerAnswer(from uint16, f net.Frame) {
	o := n.ops[f.ID]
	if o == nil {
		n.answered(f.ID, f.Msg)
		return
	}
	switch m := f.Msg.(type) {
	case *net.Done:
		if o.w != nil {
			n.writeAnswered(o, from, nil)
		} else {
			n.repaired(o, from, nil)
		}
	case *net.Error:
		err := fmt.Errorf("node %d: %s", from, m)
		switch {
		case o.w != nil && m.Code == net.CodeStaleRing:
			n.writeFenced(o, from)
		case o.w != nil && m.Code == net.CodeStaleStamp:
			n.restamp(o, from, err)
		case o.w != nil:
			n.writeAnswered(o, from, err)
		default:
			n.repaired(o, from, err)
		}
	case *net.Value, *net.State:
		if o.r == nil {
			return
		}
		v, err := store.FromAnswer(m)
		if err != nil {
			n.env.Log.Warn("a replica's answer to a read does not decode; ignored", "from", from, "err", err)
			return
		}
		n.readAnswered(o, from, v)
	}
}

// hint keeps e for replica r: hinted handoff (the package doc), in the
// queues of node/coord's Hints, which bound them.
// hintWrite hints write o for replica r.
func (n *Node) hintWrite(o *op, r uint16) {
	e := o.w.Entry
	if n.mutant(MutantHintDelta) && o.delta != 0 {
		// The slot's state becomes the increment alone, at its version.
		if slots, err := store.Slots(store.FromEntry(e)); err == nil && len(slots) == 1 {
			slots[0].P, slots[0].N = uint64(max(o.delta, 0)), uint64(max(-o.delta, 0))
			e = store.Entry(e.Key, store.CounterAt(slots))
		}
	}
	n.hint(r, e, o.began)
}

// hint keeps entry e for replica r, a write that began at began.
func (n *Node) hint(r uint16, e net.Entry, began time.Duration) {
	if r == uint16(n.cfg.ID) {
		return // a local write that failed: this node's log broke
	}
	if !n.hints.Add(r, e, n.now(), began, n.incarnation(r)) {
		n.stats.HintsDropped++
		n.probe(ProbeHintDropped)
		return
	}
	n.stats.Hints++
}

// replayHints sends each up replica with hints its next batch, unless one
// is in flight. Replicas are visited in id order.
func (n *Node) replayHints() {
	for _, r := range n.hints.Replicas() {
		if n.hints.Busy(r) {
			continue
		}
		if !n.mutant(MutantTombstoneHintsKept) {
			n.stats.HintsDropped += uint64(n.hints.Expire(r, n.now()))
		}
		if held, _ := n.hints.Held(r); !n.up(r) || held == 0 {
			continue
		}
		batch := n.hints.Take(r)
		sent := batch
		if n.mutant(MutantHintDropLast) && len(batch) > 0 {
			sent = batch[:len(batch)-1]
		}
		// A batch unanswered within a quarter of a request timeout goes
		// again at a later round: on a lossy network that is what bounds
		// how long a replica can miss a write.
		n.ask(r, &net.Replicate{Epoch: n.view.Epoch, Entries: sent, Carry: n.carry(net.CarryCopy)}, n.cfg.RequestTimeout/4, func(m net.Message) {
			if e, ok := m.(*net.Error); ok && (e.Code == net.CodeWrongKind || e.Code == net.CodeTooLarge) {
				// A definite refusal of an entry the replica will never
				// take (a batch's intent on a counter): dropped.
				n.hints.Delivered(r, len(batch), n.now(), n.incarnation(r))
				n.stats.HintsDropped += uint64(len(batch))
				return
			}
			if _, ok := m.(*net.Done); !ok {
				n.hints.Lost(r) // kept for the next round
				return
			}
			restarted := n.hints.Delivered(r, len(batch), n.now(), n.incarnation(r))
			n.stats.HintsDelivered += uint64(len(batch))
			n.stats.HintBatches.Add(uint64(len(batch)))
			n.probeIf(restarted, ProbeHintAfterRestart)
		})
	}
}

// HintsPending is the number of writes held for replicas that have not
// acknowledged them.
func (n *Node) HintsPending() int { return n.hints.Pending() }
