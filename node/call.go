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
