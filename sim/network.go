package sim

import (
	"fmt"
	"math"
	"time"

	"github.com/memdb/memdb/net"
)

// latency draws a one-way network delay.
func (w *world) latency() time.Duration {
	n := w.p.Net
	d := n.LatencyFloor + time.Duration(float64(n.LatencyMedian)*math.Exp(n.LatencySigma*w.net.NormFloat64()))
	d = min(d, n.LatencyMax)
	if w.now < w.slowUntil {
		// A slow link delays what is sent while it is slow, but not past
		// the window's end by more than a normal trip: otherwise one
		// message, and every message behind it on a FIFO connection,
		// would stay late long after the fault healed.
		d = min(time.Duration(float64(d)*w.slowFactor), w.slowUntil-w.now+d)
	}
	return d
}

// sendPeer carries a peer datagram: it may be lost, duplicated, delayed
// and reordered (each copy draws its own latency), a partition drops it
// when it is sent or when it would arrive, and a clog holds it from when
// it would arrive until the clog ends (clog.go).
func (w *world) sendPeer(from, to net.NodeID, b []byte) {
	w.stats.PeerSent++
	if int(to) < 1 || int(to) > len(w.hosts) || to == from {
		w.stats.PeerDropped++
		return
	}
	lost := w.net.Float64() < w.p.Net.Loss
	copies := 1
	if w.net.Float64() < w.p.Net.Dup {
		copies = 2
		w.stats.PeerDuplicated++
	}
	if lost || w.cut[from][to] {
		w.stats.PeerDropped++
		return
	}
	h := w.hosts[to-1]
	var deliver func()
	deliver = func() {
		if w.clogged(from, to) {
			w.holdPeer(from, to, deliver) // clog.go: it waits, in order
			return
		}
		if !h.up || w.cut[from][to] {
			w.stats.PeerDropped++
			return
		}
		f := w.decode(b, fmt.Sprintf("peer message %d→%d", from, to))
		w.stats.PeerDelivered++
		w.onNode(h, func() { h.proc.Deliver(from, f) })
	}
	for range copies {
		w.after(w.latency()+w.linkDelay(int(from), int(to)), evPeer, to, uint64(from), b, deliver)
	}
}

// decode decodes a frame the simulator itself carried. A failure is a codec
// bug (Encode produced what Decode refuses), reported as a safety violation.
func (w *world) decode(b []byte, what string) net.Frame {
	f, n, err := net.Decode(b)
	if err == nil && n != len(b) {
		err = fmt.Errorf("decoded %d of %d bytes", n, len(b))
	}
	if err != nil {
		panic(fmt.Sprintf("sim: %s does not decode: %v", what, err))
	}
	return f
}

// conn is a client connection: reliable and FIFO both ways, until broken.
type conn struct {
	id       net.ConnID
	cl       *client
	h        *host
	inc      uint64 // the node incarnation that accepted it
	open     bool
	toNode   time.Duration // the last scheduled arrival at the node
	toClient time.Duration // the last scheduled arrival at the client
}

// dial carries a client's connection attempt to node h. The client learns
// the outcome one latency later.
func (w *world) dial(cl *client, h *host) {
	w.after(w.latency(), evConnect, h.id, uint64(cl.idx), nil, func() {
		if !h.up {
			w.after(w.latency(), evRefused, h.id, uint64(cl.idx), nil, cl.refused)
			return
		}
		w.nextConn++
		c := &conn{id: w.nextConn, cl: cl, h: h, inc: h.inc, open: true}
		w.conns[c.id] = c
		h.conns = append(h.conns, c)
		w.stats.Connections++
		w.after(w.latency(), evConnected, h.id, uint64(c.id), nil, func() { cl.connected(c) })
	})
}

// request carries a client frame to the node, in order.
func (w *world) request(c *conn, b []byte) {
	c.toNode = max(w.now+w.latency(), c.toNode)
	w.at(c.toNode, evRequest, c.h.id, uint64(c.id), b, func() {
		if !c.open || !c.h.alive(c.inc) {
			return
		}
		f := w.decode(b, fmt.Sprintf("request on connection %d", c.id))
		w.onNode(c.h, func() { c.h.proc.Request(c.id, f) })
	})
}

// reply carries a node's frame back to the client, in order; it is dropped
// if the connection has closed.
func (w *world) reply(h *host, id net.ConnID, b []byte) {
	c, ok := w.conns[id]
	if !ok || c.h != h {
		w.stats.RepliesDropped++
		return
	}
	c.toClient = max(w.now+w.latency(), c.toClient)
	w.at(c.toClient, evReply, h.id, uint64(c.id), b, func() {
		if !c.open {
			w.stats.RepliesDropped++
			return
		}
		c.cl.receive(c, w.decode(b, fmt.Sprintf("reply on connection %d", c.id)))
	})
}

// breakConn breaks a connection. Whatever is in flight either way is lost.
// The client notices after a delay; the node is told too unless it crashed
// (tellNode false).
func (w *world) breakConn(c *conn, why string, tellNode bool) {
	if !c.open {
		return
	}
	c.open = false
	delete(w.conns, c.id)
	w.stats.ConnBreaks++
	detect := func() time.Duration {
		return w.latency() + time.Duration(uniform(w.net, 0, int64(w.p.Net.DetectMax)))
	}
	if tellNode {
		h, inc := c.h, c.inc
		h.conns = removeConn(h.conns, c)
		w.after(detect(), evDisconnected, h.id, uint64(c.id), nil, func() {
			if h.alive(inc) {
				w.onNode(h, func() { h.proc.Disconnected(c.id) })
			}
		})
	}
	w.after(detect(), evBroken, c.h.id, uint64(c.id), nil, func() { c.cl.broken(c, why) })
}

func removeConn(cs []*conn, c *conn) []*conn {
	for i, x := range cs {
		if x == c {
			return append(cs[:i], cs[i+1:]...)
		}
	}
	return cs
}

// Addr is the address node id listens on in the simulated world.
func Addr(id net.NodeID) string { return fmt.Sprintf("sim-node-%d", id) }

// resolve finds the node a peer message is for: by id, or by address when
// the sender knows only that (a seed). An address that names no node
// resolves to 0, which sendPeer drops.
func (w *world) resolve(p net.Peer) net.NodeID {
	if p.ID != 0 {
		return p.ID
	}
	var id net.NodeID
	if _, err := fmt.Sscanf(p.Addr, "sim-node-%d", &id); err != nil {
		return 0
	}
	return id
}
