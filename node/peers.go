package node

import (
	"encoding/binary"
	"time"

	"github.com/memdb/memdb/clock"
	"github.com/memdb/memdb/net"
	"github.com/memdb/memdb/node/quorum"
	"github.com/memdb/memdb/node/ring"
	"github.com/memdb/memdb/node/view"
)

// groups are key's replica groups (view.Groups) and every replica in
// any of them, in preference order.
func (n *Node) groups(key []byte) (quorum.Joint, []uint16) {
	gs := n.view.Groups(key)
	return gs, gs.All()
}

// peer is where to send to member id.
func (n *Node) peer(id uint16) net.Peer {
	return net.Peer{ID: net.NodeID(id), Addr: n.view.Addr(id)}
}

// up reports whether member id is worth sending to: this node, or a member
// the failure detector has not declared dead.
func (n *Node) up(id uint16) bool {
	if id == uint16(n.cfg.ID) {
		return true
	}
	return n.gossip.Alive(id)
}

// live is ids without the members the failure detector has declared
// dead, in the same order.
func (n *Node) live(ids []uint16) []uint16 {
	var out []uint16
	for _, id := range ids {
		if n.up(id) {
			out = append(out, id)
		}
	}
	return out
}

// send sends m to member id as a frame with request id rid.
func (n *Node) send(id uint16, rid uint64, m net.Message) {
	n.env.Transport.Send(n.peer(id), net.Frame{ID: rid, Clock: n.lamport.Now(), Msg: m})
}

// memberKey is the log key of a member record.
func memberKey(id uint16) []byte { return binary.BigEndian.AppendUint16(nil, id) }

// Replicas is key's preference list on the ring reads use, for checkers
// and the admin API.
func (n *Node) Replicas(key []byte) []uint16 {
	return n.view.Replicas(key)
}

// BootMarks returns the per-origin marks the node's log held at boot:
// what its catch-up after a restart asks past. The simulator's catch-up
// checker reads them; callers must not modify them.
func (n *Node) BootMarks() []net.Mark { return n.bootMarks }

// Epoch is the ring epoch the node is at.
func (n *Node) Epoch() uint64 { return n.view.Epoch }

// ReadRing is the ring reads use, the one clients route by, for the admin
// API's shares of the ring. A ring is a value never changed in place, so
// the caller may keep it; it must not change its members' token slices.
func (n *Node) ReadRing() ring.Ring { return n.view.Read }

// RingJSON describes the node's view of the cluster for the admin API:
// every member with its address, phase and liveness, and the ring epoch.
func (n *Node) RingJSON() any {
	type member struct {
		ID          uint16 `json:"id"`
		Addr        string `json:"addr"`
		Phase       string `json:"phase"`
		State       string `json:"state"`
		Incarnation uint64 `json:"incarnation"`
	}
	out := struct {
		Epoch       uint64   `json:"epoch"`
		Replication int      `json:"replication_factor"`
		Read        []uint16 `json:"read_ring"`
		Write       []uint16 `json:"write_ring"`
		Members     []member `json:"members"`
		Hints       int      `json:"hints_pending"`
	}{Epoch: n.view.Epoch, Replication: n.cfg.ReplicationFactor, Read: n.view.Read.IDs(), Write: n.view.Write.IDs(), Hints: n.HintsPending()}
	if n.gossip != nil {
		for _, m := range n.gossip.Members() {
			out.Members = append(out.Members, member{m.ID, m.Addr, view.PhaseOf(m.Ring).String(), m.State.String(), m.Incarnation})
		}
	}
	return out
}

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

// askTries is how often askAgain sends before it gives up, and askWait the
// most a try waits (they double from a quarter of a request timeout up to
// it): six tries over 9.5 s at the default 2 s timeout, so that random loss
// of 7-12% — a request or its answer — fails a step about once in ten
// thousand, where four tries over 7.5 s failed it once in five hundred
// (PAPER bug 58).
const (
	askTries    = 6
	askWaitStep = 2
)

// askWait is how long the k-th try of a call asked again waits.
func (n *Node) askWait(k int) time.Duration {
	return n.cfg.RequestTimeout / 4 << min(k, askWaitStep)
}

// askAgain asks peer m as a call until it is answered with anything
// accepted reports true, up to askTries times: the waits double from a
// quarter of a request timeout to a request timeout, and a refusal (an answer not accepted,
// such as a peer behind on the ring) is asked again after a moment. done
// hears the last answer (nil if none came).
func (n *Node) askAgain(peer uint16, m net.Message, accepted func(net.Message) bool, done func(net.Message)) {
	var try func(k int)
	try = func(k int) {
		n.ask(peer, m, n.askWait(k), func(a net.Message) {
			switch {
			case a != nil && accepted(a), k+1 >= askTries, n.stopped:
				done(a)
			case a == nil:
				try(k + 1)
			default:
				n.later(n.cfg.Gossip.ProbeInterval/4, func() { try(k + 1) })
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
