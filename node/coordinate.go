package node

import (
	"fmt"
	"slices"

	"github.com/memdb/memdb/clock"
	"github.com/memdb/memdb/net"
	"github.com/memdb/memdb/node/quorum"
	"github.com/memdb/memdb/node/store"
)

// An op is a request this node coordinates: a client's write or read that
// waits for replicas. Peer answers find it by its id, which is the request
// id of every frame sent for it.
type op struct {
	id     uint64
	conn   net.ConnID
	req    uint64
	write  bool
	level  net.Consistency
	key    []byte
	entry  net.Entry    // the write, stamped
	asked  []uint16     // replicas sent to (self included), in preference order
	groups quorum.Joint // replica sets that must each reach the level (groups)
	acked  []uint16     // replicas that acknowledged the write or answered the read
	failed []uint16     // replicas that said they could not
	// Writes: the ring epoch the replicas were chosen at, the replicas
	// that refused the write as made on an older ring than theirs, and
	// whether a resend on the newer ring is scheduled (writeFenced).
	epoch    uint64
	stale    []uint16
	resendAt bool
	// Reads: each answer, and the newest version among them.
	answers  []answer
	newest   store.Version
	contains bool
	// repairing are stale replicas a quorum read waits for before it
	// answers, so that a later quorum read cannot see an older value.
	repairing []uint16
	replied   bool
	timer     clock.Timer
}

type answer struct {
	from uint16
	v    store.Version
}

func (n *Node) newOp() *op {
	n.nextOp++
	o := &op{id: n.nextOp}
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
		o.conn, o.req, o.write, o.level, o.key, o.groups = c, id, true, level, key, gs
		v.Stamp = t
		o.entry = store.Entry(key, v)
		o.asked, o.epoch = all, n.view.Epoch
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
		n.applyEntries([]net.Entry{o.entry}, func(err error) { n.writeAnswered(o, r, err) })
	case n.up(r):
		n.send(r, o.id, &net.Replicate{Epoch: o.epoch, Entries: []net.Entry{o.entry}})
	default:
		n.hint(r, o.entry)
	}
}

// writeFenced handles replica r's refusal of write o as made on an older
// ring than r's: nothing was applied there, and r has just sent this node
// the membership it lacks (fenced). Once this node's ring has moved on, the
// write goes again to the key's replicas on the new ring that have not
// acknowledged it — a range movement does not turn writes made meanwhile
// into unknown outcomes. Until then, or if the ring does not move before
// the deadline, r counts as not having answered.
func (n *Node) writeFenced(o *op, r uint16) {
	if n.ops[o.id] != o || slices.Contains(o.acked, r) || slices.Contains(o.stale, r) {
		return
	}
	o.stale = append(o.stale, r)
	if !o.resendAt {
		o.resendAt = true
		n.env.Clock.AfterFunc(n.cfg.Gossip.ProbeInterval/4, func() { n.resendWrite(o) })
	}
}

// resendWrite sends write o again on the node's ring, once it is newer
// than the one o was sent on; until then it waits.
func (n *Node) resendWrite(o *op) {
	if n.ops[o.id] != o {
		return
	}
	if n.view.Epoch == o.epoch {
		n.env.Clock.AfterFunc(n.cfg.Gossip.ProbeInterval/4, func() { n.resendWrite(o) })
		return
	}
	o.resendAt = false
	gs, all := n.groups(o.key)
	// Replicas of the old ring that refused it and are none on the new one
	// are not waited for (nor hinted): nothing was applied there.
	o.asked = slices.DeleteFunc(o.asked, func(r uint16) bool { return slices.Contains(o.stale, r) && !slices.Contains(all, r) })
	o.groups, o.epoch, o.stale = gs, n.view.Epoch, nil
	n.stats.WritesResent++
	n.probe(ProbeWriteResent)
	n.env.Log.Debug("write resent on a newer ring", "key", string(o.key), "epoch", o.epoch, "replicas", all)
	for _, r := range all {
		if slices.Contains(o.acked, r) {
			continue
		}
		o.failed = slices.DeleteFunc(o.failed, func(id uint16) bool { return id == r })
		if !slices.Contains(o.asked, r) {
			o.asked = append(o.asked, r)
		}
		n.sendWrite(o, r)
	}
	n.writeDecide(o, nil)
}

// reachable checks, before anything is sent, that enough replicas are up
// for the request to meet its level, and refuses it cleanly if not.
func (n *Node) reachable(c net.ConnID, id uint64, what string, gs quorum.Joint, all []uint16, level net.Consistency) bool {
	if len(gs) == 0 {
		n.stats.Unavailable++
		n.fail(c, id, net.CodeUnavailable, "no node owns this key yet (node %d has no ring; is it still joining?)", n.cfg.ID)
		return false
	}
	var live []uint16
	for _, r := range all {
		if n.up(r) {
			live = append(live, r)
		}
	}
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
	if n.ops[o.id] != o || slices.Contains(o.acked, r) || slices.Contains(o.failed, r) {
		return // late, or a duplicate
	}
	if err != nil {
		o.failed = append(o.failed, r)
		n.hint(r, o.entry)
	} else {
		o.acked = append(o.acked, r)
	}
	n.writeDecide(o, err)
}

// writeDecide answers write o's client once its replicas' answers decide
// it, and forgets o once every replica asked has answered; err is the
// last refusal, if any.
func (n *Node) writeDecide(o *op, err error) {
	switch {
	case o.replied:
	case o.groups.Met(o.level, o.acked):
		o.replied = true
		n.stats.Writes++
		n.reply(o.conn, o.req, &net.Done{Version: o.entry.Stamp})
	case o.groups.Result(o.level, o.asked, o.acked, o.failed) == quorum.Lost:
		// Enough replicas refused that the level cannot be met.
		o.replied = true
		if len(o.acked) == 0 && len(o.failed) == len(o.asked) {
			n.fail(o.conn, o.req, net.CodeUnavailable, "every replica %v refused the write: %v", o.asked, err)
		} else {
			n.fail(o.conn, o.req, net.CodeUnknownOutcome, "%d of %d replicas refused the write (last: %v); it may be on %v", len(o.failed), len(o.asked), err, o.acked)
		}
	}
	if len(o.acked)+len(o.failed) == len(o.asked) {
		n.finish(o)
	}
}

// writeTimedOut ends a write whose replicas did not all answer in time:
// those that did not get a hint, and a client still waiting hears that the
// outcome is unknown — the write may yet be applied.
func (n *Node) writeTimedOut(o *op) {
	if n.ops[o.id] != o {
		return
	}
	for _, r := range o.asked {
		if !slices.Contains(o.acked, r) && !slices.Contains(o.failed, r) {
			n.hint(r, o.entry)
		}
	}
	if !o.replied {
		n.stats.Unknown++
		n.probeIf(len(o.acked) > 0, ProbeWriteUnknownPartial)
		n.fail(o.conn, o.req, net.CodeUnknownOutcome, "%s write: replicas %v of %v acknowledged within %v; it may still be applied",
			levelName(o.level), o.acked, o.groups, n.cfg.RequestTimeout)
	}
	n.finish(o)
}

// coordinateRead asks the key's replicas for their versions and answers
// with the newest once enough have answered.
func (n *Node) coordinateRead(c net.ConnID, id uint64, key []byte, level net.Consistency, contains bool) {
	gs, reps := n.groups(key)
	if !n.reachable(c, id, "read", gs, reps, level) {
		return
	}
	o := n.newOp()
	o.conn, o.req, o.level, o.key, o.groups, o.contains = c, id, level, key, gs, contains
	o.timer = n.env.Clock.AfterFunc(n.cfg.RequestTimeout, func() { n.readTimedOut(o) })
	var local bool
	for _, r := range reps {
		if !n.up(r) {
			continue
		}
		o.asked = append(o.asked, r)
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
	if n.ops[o.id] != o || slices.ContainsFunc(o.answers, func(a answer) bool { return a.from == r }) {
		return
	}
	o.answers = append(o.answers, answer{r, v})
	o.newest, _ = store.Merge(o.newest, v)
	if o.replied {
		// A late answer: repair it in the background if it is stale.
		if !store.Covers(v, o.newest) {
			n.repair(r, 0, o)
		}
	} else if o.groups.Met(o.level, answerers(o.answers)) && o.repairing == nil {
		n.readQuorum(o)
	}
	if len(o.answers) == len(o.asked) && o.replied {
		n.finish(o)
	}
}

// readQuorum runs when enough replicas answered read o. Below quorum it
// answers at once. At quorum and above it first brings the stale answerers
// up to the newest version and waits for them, so the value it returns is
// on a quorum and no later quorum read can return an older one.
func (n *Node) readQuorum(o *op) {
	if o.level != net.One {
		for _, a := range o.answers {
			if !store.Covers(a.v, o.newest) {
				o.repairing = append(o.repairing, a.from)
			}
		}
	}
	if len(o.repairing) == 0 {
		n.answerRead(o)
		return
	}
	n.stats.ReadRepairs += uint64(len(o.repairing))
	n.probe(ProbeReadRepairWait)
	for _, r := range o.repairing {
		n.repair(r, o.id, o)
	}
}

// repair sends the newest version read o found to replica r; with rid 0 it
// wants no answer.
func (n *Node) repair(r uint16, rid uint64, o *op) {
	e := store.Entry(o.key, o.newest)
	if r == uint16(n.cfg.ID) {
		n.applyEntries([]net.Entry{e}, func(err error) {
			if rid != 0 {
				n.repaired(o, r, err)
			}
		})
		return
	}
	n.send(r, rid, &net.Replicate{Epoch: n.view.Epoch, Entries: []net.Entry{e}})
}

// repaired records that stale replica r took the newest version of read o.
func (n *Node) repaired(o *op, r uint16, err error) {
	if n.ops[o.id] != o || o.replied {
		return
	}
	i := slices.Index(o.repairing, r)
	if i < 0 {
		return
	}
	if err != nil {
		return // the read times out unless others answer
	}
	o.repairing = slices.Delete(o.repairing, i, i+1)
	if len(o.repairing) == 0 {
		n.answerRead(o)
		if len(o.answers) == len(o.asked) {
			n.finish(o)
		}
	}
}

func (n *Node) answerRead(o *op) {
	o.replied = true
	n.reply(o.conn, o.req, store.ReadAnswer(o.newest, o.contains))
}

func (n *Node) readTimedOut(o *op) {
	if n.ops[o.id] != o {
		return
	}
	if !o.replied {
		n.fail(o.conn, o.req, net.CodeUnavailable, "%s read: replicas %v of %v answered within %v",
			levelName(o.level), answerers(o.answers), o.groups, n.cfg.RequestTimeout)
	}
	n.finish(o)
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
		if o.write {
			n.writeAnswered(o, from, nil)
		} else {
			n.repaired(o, from, nil)
		}
	case *net.Error:
		err := fmt.Errorf("node %d: %s", from, m)
		switch {
		case o.write && m.Code == net.CodeStaleRing:
			n.writeFenced(o, from)
		case o.write:
			n.writeAnswered(o, from, err)
		default:
			n.repaired(o, from, err)
		}
	case *net.Value:
		if !o.write {
			n.readAnswered(o, from, store.FromAnswer(m))
		}
	}
}

func answerers(as []answer) []uint16 {
	ids := make([]uint16, len(as))
	for i, a := range as {
		ids[i] = a.from
	}
	return ids
}
