package node

import (
	"time"

	"github.com/memdb/memdb/clock"
	"github.com/memdb/memdb/net"
)

// A call is a request to one peer that wants one answer: a hint batch, a
// Sync, a pushed batch. Its answer, or nil on timeout, goes to done exactly
// once. Answers carry the request's id; each call has a fresh one, so an
// answer to a call that already ended (late, or duplicated by the network)
// finds nothing and is dropped.
type call struct {
	done  func(net.Message)
	timer clock.Timer
}

// ask sends m to peer as a call with the given timeout.
func (n *Node) ask(peer uint16, m net.Message, timeout time.Duration, done func(net.Message)) {
	n.nextOp++
	id := n.nextOp
	c := &call{done: done}
	n.calls[id] = c
	c.timer = n.env.Clock.AfterFunc(timeout, func() {
		if n.calls[id] == c {
			delete(n.calls, id)
			done(nil)
		}
	})
	n.send(peer, id, m)
}

// askTries is how often askAgain sends before it gives up.
const askTries = 4

// askAgain asks peer m as a call until it is answered with anything
// accepted reports true, up to askTries times: the waits double from a
// quarter of a request timeout, and a refusal (an answer not accepted,
// such as a peer behind on the ring) is asked again after a moment. done
// hears the last answer (nil if none came).
func (n *Node) askAgain(peer uint16, m net.Message, accepted func(net.Message) bool, done func(net.Message)) {
	var try func(k int)
	try = func(k int) {
		n.ask(peer, m, n.cfg.RequestTimeout/4<<k, func(a net.Message) {
			switch {
			case a != nil && accepted(a), k+1 >= askTries, n.stopped:
				done(a)
			case a == nil:
				try(k + 1)
			default:
				n.env.Clock.AfterFunc(n.cfg.Gossip.ProbeInterval/4, func() { try(k + 1) })
			}
		})
	}
	try(0)
}

// answered hands a peer's answer to the call it belongs to, if any.
func (n *Node) answered(id uint64, m net.Message) bool {
	c := n.calls[id]
	if c == nil {
		return false
	}
	delete(n.calls, id)
	c.timer.Stop()
	c.done(m)
	return true
}
