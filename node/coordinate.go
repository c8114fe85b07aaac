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

// The requests this node coordinates — a client's write or read that
// waits for replicas — are node/coord's Ops: their state, and what
// follows from each answer and deadline (a coord.Do). What is here is
// the node's part: stamping, sending, applying locally, timers, hints
// kept, stats and probes. Applying locally may answer within the call
// that sent, so what an event decided can come back into the op it
// belongs to.

// opID draws the id of a new op: from the one sequence that calls to
// single peers use too, so that a peer's answer finds one of them at most.
func (n *Node) opID() uint64 {
	n.nextOp++
	return n.nextOp
}

// respond answers o's client with m.
func (n *Node) respond(o *coord.Op, m net.Message) {
	if o.Respond != nil {
		o.Respond(m)
		return
	}
	n.reply(o.Conn, o.Req, m)
}

// do carries out what an event on op o decided, in coord.Do's order.
func (n *Node) do(o *coord.Op, d coord.Do) {
	for _, r := range d.Hint {
		n.hint(r, o.HintEntry(), o.Began)
	}
	if d.Wait {
		n.stats.ReadRepairs += uint64(len(d.Repair))
		n.probe(ProbeReadRepairWait)
	}
	if len(d.Resolve) > 0 {
		n.resolveRead(o, d.Resolve)
	}
	for _, r := range d.Repair {
		n.repair(o, r, d.Wait)
	}
	if d.Msg != nil {
		if d.Reply == coord.Done {
			n.stats.Writes++
		}
		n.respond(o, d.Msg)
	}
	if d.Finish {
		n.finish(o)
	}
}

// finish forgets o.
func (n *Node) finish(o *coord.Op) {
	if o.Timer != nil {
		o.Timer.Stop()
	}
	n.ops.Finish(o)
}

// reachable checks, before anything is sent, that enough replicas are up
// for the request to meet its level, and refuses it cleanly if not.
func (n *Node) reachable(c net.ConnID, id uint64, what string, gs quorum.Joint, all []uint16, level net.Consistency) bool {
	if e := coord.Unreachable(what, gs, n.live(all), level, uint16(n.cfg.ID)); e != nil {
		n.stats.Unavailable++
		n.reply(c, id, e)
		return false
	}
	return true
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
		v.Stamp = t
		wl := level
		if n.mutant(MutantQuorumAsOne) && (level == net.Quorum || level == net.Default) {
			wl = net.One
		}
		o := n.ops.Write(n.opID(), coord.NewWrite(store.Entry(key, v), wl, gs, all, n.view.Epoch), n.now())
		o.Conn, o.Req = c, id
		n.startWrite(o, n.cfg.RequestTimeout)
	})
}

// startWrite sends write o to every replica it asks, and ends it after
// timeout.
func (n *Node) startWrite(o *coord.Op, timeout time.Duration) {
	o.Timer = n.env.Clock.AfterFunc(timeout, func() { n.writeTimedOut(o) })
	for _, r := range o.W.Asked {
		n.sendWrite(o, r)
	}
}

// sendWrite sends write o to replica r (coord.Op.Route): applied here if
// r is this node, sent if r is up, else hinted.
func (n *Node) sendWrite(o *coord.Op, r uint16) {
	switch o.Route(r, n.up(r)) {
	case coord.Apply:
		e := o.W.Entry
		if n.buried(e, n.floor()) && !n.mutant(MutantTombstoneStaleTaken) {
			// Stamped before this node dropped a tombstone of the key
			// (a resend on a newer ring, long after): as a replica would.
			n.restamp(o, r, fmt.Errorf("node %d: the write's stamp is at or below this node's tombstone floor", n.cfg.ID))
			return
		}
		if err := n.admit([]net.Entry{e}); err != nil {
			n.do(o, o.WriteAnswered(r, err))
			return
		}
		n.applyEntries([]net.Entry{e}, func(err error) { n.do(o, o.WriteAnswered(r, err)) })
	case coord.Send:
		n.send(r, o.ID, &net.Replicate{Epoch: o.W.Epoch, Entries: []net.Entry{o.W.Entry}, Carry: n.carry(net.CarryWrite)})
	case coord.Hint:
		n.hint(r, o.HintEntry(), o.Began)
	}
}

// writeFenced handles replica r's refusal of write o as made on an older
// ring than r's (coord.Write.Fenced): r has just sent this node the
// membership it lacks (fenced), and the write waits for this node's ring
// to move on.
func (n *Node) writeFenced(o *coord.Op, r uint16) {
	if o.W.Fenced(r) {
		n.later(n.cfg.Gossip.ProbeInterval/4, func() { n.resendWrite(o) })
	}
}

// resendWrite sends write o again on the node's ring, once it is newer
// than the one o was sent on; until then it waits.
func (n *Node) resendWrite(o *coord.Op) {
	w := o.W
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
	n.do(o, o.Resent())
}

// restamp handles replica r's refusal of write o as stamped at or below
// its tombstone floor (net.CodeStaleStamp; err says so): the write goes
// again under a new id and a new stamp, or the refusal counts as one
// (coord.Op.Restamp).
func (n *Node) restamp(o *coord.Op, r uint16, err error) {
	if !o.Restamp() {
		n.do(o, o.WriteAnswered(r, err))
		return
	}
	n.ops.Renumber(o, n.opID())
	n.stats.WritesRestamped++
	n.probe(ProbeWriteRestamped)
	n.stamp(func(t clock.Timestamp) {
		if o.W.Over() {
			return
		}
		if t.IsZero() {
			n.do(o, o.WriteAnswered(r, err))
			return
		}
		n.env.Log.Debug("write stamped again above a tombstone floor", "key", string(o.W.Entry.Key), "was", o.W.Entry.Stamp, "now", t, "refused by", r)
		o.W.Restamp(t)
		for _, r := range o.W.Asked {
			n.sendWrite(o, r)
		}
	})
}

// writeTimedOut ends a write whose replicas did not all answer in time.
func (n *Node) writeTimedOut(o *coord.Op) {
	d := o.WriteTimedOut()
	if d.Reply == coord.Unknown {
		n.stats.Unknown++
		n.probeIf(len(o.W.Acked) > 0, ProbeWriteUnknownPartial)
	}
	n.do(o, d)
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
	o := n.ops.Read(n.opID(), coord.NewRead(key, level, gs, contains), n.now())
	o.Conn, o.Req = c, id
	o.R.IgnoreIntents = n.mutant(MutantReadersIgnoreIntents)
	o.Counter = counter
	o.Timer = n.env.Clock.AfterFunc(n.cfg.RequestTimeout, func() { n.do(o, o.ReadTimedOut()) })
	var local bool
	for _, r := range n.live(reps) {
		o.R.Ask(r)
		if r == uint16(n.cfg.ID) {
			local = true
		} else {
			n.send(r, o.ID, &net.Read{Epoch: n.view.Epoch, Key: key})
		}
	}
	if local && n.serving() {
		v, _ := n.store.Get(key)
		n.do(o, o.ReadAnswered(uint16(n.cfg.ID), v))
	}
}

// repair sends the newest state read o found to stale replica r; if wait,
// under o's id, and its answer goes back to o.
func (n *Node) repair(o *coord.Op, r uint16, wait bool) {
	e := o.RepairEntry()
	if r == uint16(n.cfg.ID) {
		n.applyEntries([]net.Entry{e}, func(err error) {
			if wait {
				n.do(o, o.Repaired(r, err))
			}
		})
		return
	}
	var rid uint64
	if wait {
		rid = o.ID
	}
	n.send(r, rid, &net.Replicate{Epoch: n.view.Epoch, Entries: []net.Entry{e}, Carry: n.carry(net.CarryCopy)})
}

// peerAnswer routes an answer from peer from to the op it belongs to.
func (n *Node) peerAnswer(from uint16, f net.Frame) {
	o := n.ops.Get(f.ID)
	if o == nil {
		n.answered(f.ID, f.Msg)
		return
	}
	switch m := f.Msg.(type) {
	case *net.Done:
		if o.W != nil {
			n.do(o, o.WriteAnswered(from, nil))
		} else {
			n.do(o, o.Repaired(from, nil))
		}
	case *net.Error:
		err := fmt.Errorf("node %d: %s", from, m)
		switch {
		case o.W != nil && m.Code == net.CodeStaleRing:
			n.writeFenced(o, from)
		case o.W != nil && m.Code == net.CodeStaleStamp:
			n.restamp(o, from, err)
		case o.W != nil:
			n.do(o, o.WriteAnswered(from, err))
		default:
			n.do(o, o.Repaired(from, err))
		}
	case *net.Value, *net.State:
		if o.R == nil {
			return
		}
		v, err := store.FromAnswer(m)
		if err != nil {
			n.env.Log.Warn("a replica's answer to a read does not decode; ignored", "from", from, "err", err)
			return
		}
		n.do(o, o.ReadAnswered(from, v))
	}
}

// hint keeps entry e for replica r, a write that began at began: hinted
// handoff (the package doc), in the queues of node/coord's Hints, which
// bound them.
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
// is in flight (coord.Hints.Replay).
func (n *Node) replayHints() {
	batches, expired := n.hints.Replay(n.now(), n.up)
	n.stats.HintsDropped += uint64(expired)
	for _, b := range batches {
		// A batch unanswered within a quarter of a request timeout goes
		// again at a later round: on a lossy network that is what bounds
		// how long a replica can miss a write.
		n.ask(b.To, &net.Replicate{Epoch: n.view.Epoch, Entries: b.Entries, Carry: n.carry(net.CarryCopy)}, n.cfg.RequestTimeout/4, func(m net.Message) {
			got := n.hints.Answered(b, m, n.now(), n.incarnation(b.To))
			n.stats.HintsDropped += uint64(got.Dropped)
			if got.Delivered > 0 {
				n.stats.HintsDelivered += uint64(got.Delivered)
				n.stats.HintBatches.Add(uint64(got.Delivered))
				n.probeIf(got.Restarted, ProbeHintAfterRestart)
			}
		})
	}
}

// HintsPending is the number of writes held for replicas that have not
// acknowledged them.
func (n *Node) HintsPending() int { return n.hints.Pending() }
