package sim

import (
	"slices"
	"time"

	"github.com/memdb/memdb/linearize"
	"github.com/memdb/memdb/net"
	"github.com/memdb/memdb/node/ring"
)

// Routed clients (Params.Client.Failover; issue 19): what the client
// package does, in the simulator's terms. A routed client sends each
// operation to the first of its key's replicas, in preference order, on
// the ring it last learned, then to the other nodes; nodes
// that refused a connection or broke one within the last Backoff come
// last. It keeps a connection to every node it used. An operation whose
// node cannot be reached goes to the next; a read whose outcome is unknown
// (timeout, broken connection) is sent again to the next node, until
// readDeadline timeouts after its call, and recorded once, answered by its
// last attempt (a read has no effect); a write of unknown outcome is never
// sent again. Counter workloads are not routed (Params.Validate).
//
// It learns the ring as the client package does (RingInfo): from a node
// it connects to, every ringRefresh, and when an operation could not go
// to its first choice (at most once a ringKick), from the node the
// operation goes to instead; a ring of an older epoch than the one it has
// is ignored.

// ringRefresh and ringKick are the client package's DefaultRingRefresh
// and the least gap between refreshes a failure asks for.
const (
	ringRefresh = 30 * time.Second
	ringKick    = time.Second
)

// readDeadline is how long after its call a routed client goes on
// sending a read again, in Timeouts.
const readDeadline = 3

// issueRouted draws the next operation and routes it.
func (cl *client) issueRouted() {
	w := cl.w
	if w.stopping || cl.pending != nil {
		return
	}
	op, m := cl.draw()
	op.Process, op.Client, op.Call, op.Return, op.Outcome = cl.proc, cl.idx, w.now, w.now, linearize.Unknown
	p := &pending{op: len(w.history), msg: m}
	w.history = append(w.history, op)
	w.stats.Ops++
	cl.pending = p
	cl.route()
}

// route sends the pending operation to the next node in its order, over
// an open connection or once one is made. With none left it ends: unknown
// if it was sent before (a write is never sent twice; a read ran out of
// nodes), failed if it never was.
func (cl *client) route() {
	w, p := cl.w, cl.pending
	op := &w.history[p.op]
	h := cl.next(op.Key, p.tried)
	if h == nil || w.stopping {
		why := "no node left to try"
		if op.Note != "" {
			why = op.Note + "; " + why
		}
		if p.id != 0 {
			cl.giveUp(why)
		} else {
			cl.fail(why)
		}
		return
	}
	p.tried = append(p.tried, h.id)
	cl.h = h
	cl.conn = nil // the connection the operation is in flight on, once sent
	if c := cl.pool[h.id]; c != nil && c.open {
		cl.sendRouted(c)
		return
	}
	p.dialing = h
	w.dial(cl, h)
}

// fail ends the pending operation as not done: it was never sent, or it
// is a read.
func (cl *client) fail(why string) {
	w, p := cl.w, cl.pending
	op := &w.history[p.op]
	op.Return, op.Outcome, op.Note = w.now, linearize.Failed, why
	w.stats.Failed++
	cl.pending = nil
	cl.think()
}

// sendRouted sends the pending operation on c.
func (cl *client) sendRouted(c *conn) {
	w, p := cl.w, cl.pending
	p.dialing = nil
	cl.conn = c
	op := &w.history[p.op]
	op.Node = int(c.h.id)
	if len(p.tried) > 1 {
		op.Attempts = len(p.tried)
	}
	if len(p.tried) > 1 && w.now-cl.ringAt >= ringKick || w.now-cl.ringAt >= ringRefresh {
		cl.learnRing(c.h)
	}
	cl.nextID++
	p.id = cl.nextID
	p.timeout = w.after(w.p.Client.Timeout, evTimeout, c.h.id, uint64(cl.idx), nil, func() { cl.lost("timeout") })
	w.request(c, net.Encode(net.Frame{ID: p.id, Clock: cl.session, Msg: p.msg}))
}

// learnRing takes node h's ring, unless it is older than the client's.
func (cl *client) learnRing(h *host) {
	rr, ok := h.proc.(interface{ ReadRing() ring.Ring })
	if !ok || !h.up {
		return
	}
	cl.ringAt = cl.w.now
	if r := rr.ReadRing(); r.Len() > 0 && r.Epoch() >= cl.ring.Epoch() {
		cl.ring = r
	}
}

// next is the first node, in the routed order for key, not yet tried.
func (cl *client) next(key string, tried []net.NodeID) *host {
	w := cl.w
	var order []net.NodeID
	if cl.ring.Len() > 0 {
		for _, id := range cl.ring.Replicas([]byte(key), min(max(w.p.RF, 1), w.p.Nodes)) {
			order = append(order, net.NodeID(id))
		}
	}
	for _, h := range w.hosts {
		if !slices.Contains(order, h.id) {
			order = append(order, h.id)
		}
	}
	var later *host
	for _, id := range order {
		h := w.hosts[id-1]
		if h.gone || slices.Contains(tried, id) {
			continue
		}
		if w.now < cl.downTill[id] {
			if later == nil {
				later = h
			}
			continue
		}
		return h
	}
	return later
}

// down marks node id down for a Backoff.
func (cl *client) down(id net.NodeID) {
	if cl.downTill == nil {
		cl.downTill = map[net.NodeID]time.Duration{}
	}
	cl.downTill[id] = cl.w.now + cl.w.p.Client.Backoff
}

// retryRead sends a routed client's read of unknown outcome to the next
// node, unless its deadline passed; it reports whether it did.
func (cl *client) retryRead(why string) bool {
	w, p := cl.w, cl.pending
	op := &w.history[p.op]
	if op.Kind != linearize.Get && op.Kind != linearize.Contains || w.stopping || w.now-op.Call >= readDeadline*w.p.Client.Timeout {
		return false
	}
	p.timeout.fn = nil
	op.Note = why
	cl.conn = nil // a late answer on it is dropped
	if len(p.tried) >= len(w.hosts) {
		p.tried = p.tried[:0] // every node tried once: around again
	}
	cl.route()
	return true
}

// connectedRouted: c is open to c.h; the pending operation goes on it if
// it waited for it, else the client thinks. The client learns the ring
// of the node it connected to. A connection that broke before the client
// heard it was up counts as refused: its evBroken does nothing (no
// operation is on it), so the client goes on from here.
func (cl *client) connectedRouted(c *conn) {
	p := cl.pending
	waiting := p != nil && p.dialing == c.h
	if !c.open {
		cl.down(c.h.id)
		switch {
		case waiting:
			cl.route()
		case p == nil:
			cl.firstRefused() // else nothing would make it think again
		}
		return
	}
	if cl.pool == nil {
		cl.pool = map[net.NodeID]*conn{}
	}
	cl.pool[c.h.id] = c
	cl.learnRing(c.h)
	switch {
	case waiting:
		cl.sendRouted(c)
	case p == nil:
		cl.think()
	}
}

// refusedRouted: the node being dialed refused; the operation goes on.
func (cl *client) refusedRouted() {
	p := cl.pending
	if p == nil || p.dialing == nil {
		cl.firstRefused()
		return
	}
	cl.down(p.dialing.id)
	cl.route()
}

// firstRefused: the first connection of the run, to cl.h, was refused or
// broke before it was up; the client tries the next node after a backoff
// drawn up to Backoff.
func (cl *client) firstRefused() {
	cl.down(cl.h.id)
	if h := cl.next("", []net.NodeID{cl.h.id}); h != nil {
		cl.h = h
	}
	cl.reconnectLater()
}

// brokenRouted: c broke; an operation in flight on it has an unknown
// outcome.
func (cl *client) brokenRouted(c *conn, why string) {
	if cl.pool[c.h.id] == c {
		delete(cl.pool, c.h.id)
	}
	cl.down(c.h.id)
	if c != cl.conn {
		return
	}
	cl.conn = nil
	if cl.pending != nil {
		cl.lost(why)
	}
}
