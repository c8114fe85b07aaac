package node

import (
	"bytes"
	"fmt"

	"github.com/memdb/memdb/net"
	"github.com/memdb/memdb/node/movement"
	"github.com/memdb/memdb/node/view"
)

// The movement lock, taken and given back: see node/movement.

// systemPrefix starts every key the cluster keeps for itself; clients may
// not use it.
const systemPrefix = "\x00memdb/"

// over reports whether movement m has finished as far as this node knows:
// its member's ring version has passed the one m names.
func (n *Node) over(m movement.Move) bool {
	g, ok := n.gossip.Member(m.ID)
	return ok && m.Over(g.Ring)
}

// takeMove tries to take the movement lock for want and calls done with
// whether this node holds it. It fails while another movement holds it,
// or if the Paxos rounds fail; the caller tries again later.
func (n *Node) takeMove(want movement.Move, done func(bool)) {
	n.internal(&net.Get{Key: []byte(movement.Key), Level: net.Serial}, func(m net.Message) {
		v, ok := m.(*net.Value)
		if !ok {
			n.env.Log.Info("could not read the movement lock", "want", want.String(), "answer", net.Describe(m))
			done(false)
			return
		}
		cas := &net.CAS{Key: []byte(movement.Key), OldFound: v.Found, Old: v.Value, New: []byte(want.String())}
		if cur, held := movement.Parse(v.Value); held {
			switch {
			case cur == want:
				done(true) // this node took it before a restart
				return
			case !n.over(cur):
				n.env.Log.Info("waiting for a movement to finish", "want", want.String(), "holder", cur.String())
				done(false)
				return
			}
			n.env.Log.Info("taking the movement lock from a finished movement", "holder", cur.String())
			n.probe(ProbeMoveLockTakeover)
		}
		n.internal(cas, func(m net.Message) {
			b, ok := m.(*net.Bool)
			if !ok || !b.Value {
				n.env.Log.Info("could not take the movement lock", "want", want.String(), "answer", net.Describe(m))
			}
			done(ok && b.Value)
		})
	})
}

// giveMove gives the movement lock back after movement m finished. If it
// cannot (the rounds fail), it tries again a few times; after that the
// next mover takes the lock from m, which is over.
func (n *Node) giveMove(m movement.Move, tries int) {
	cas := &net.CAS{Key: []byte(movement.Key), OldFound: true, Old: []byte(m.String()), New: []byte(movement.Idle)}
	n.internal(cas, func(a net.Message) {
		if _, ok := a.(*net.Bool); ok || n.stopped || tries <= 1 {
			return // given back, or held by another already
		}
		n.later(n.retryDelay(), func() { n.giveMove(m, tries-1) })
	})
}

// Keys is how many client keys the node holds, tombstones included: the
// store's keys but the cluster's own.
func (n *Node) Keys() int {
	k := n.store.Len()
	if _, ok := n.store.Get([]byte(movement.Key)); ok {
		k--
	}
	return k
}

// Normal reports whether the node is a normal member: it has joined, and
// is not leaving.
func (n *Node) Normal() bool { return n.gossip != nil && n.phase() == view.Normal }

// HasLeft reports whether this node has left the cluster: it handed its
// ranges off (Leave, or a leave it resumed after a restart) and owns none.
func (n *Node) HasLeft() bool { return n.gossip != nil && n.phase() == view.Left }

// Departed reports whether the node has finished leaving the cluster —
// a Leave asked of it, or one it resumed after a restart — and every
// member on the ring has confirmed it: the host should stop it now.
func (n *Node) Departed() bool { return n.life == Departed }

// dropOwnLeave gives the movement lock back if it holds a leave of this
// node that never began: Leave took the lock, and the node crashed before
// it turned leaving (the operator's request died with it). Nothing else
// would ever give it back, since the node stays normal.
//
// Until it knows (a read or a give-back without a definite answer is tried
// again), the node's life is GivingBack and Leave waits, so that a new leave never
// starts on the very lock being given back.
func (n *Node) dropOwnLeave() {
	if n.stopped || n.life != Member && n.life != GivingBack || n.phase() != view.Normal {
		n.dropped()
		return
	}
	n.life = GivingBack
	again := func() { n.later(n.retryDelay(), n.dropOwnLeave) }
	m, _ := n.gossip.Member(uint16(n.cfg.ID))
	mine := movement.Leave(uint16(n.cfg.ID), m.Ring)
	n.internal(&net.Get{Key: []byte(movement.Key), Level: net.Serial}, func(a net.Message) {
		v, ok := a.(*net.Value)
		switch {
		case !ok:
			again()
			return
		case !v.Found || string(v.Value) != mine.String() || n.phase() != view.Normal:
			n.dropped()
			return
		}
		n.env.Log.Info("giving back the movement lock of a leave that never began", "movement", mine.String())
		cas := &net.CAS{Key: []byte(movement.Key), OldFound: true, Old: []byte(mine.String()), New: []byte(movement.Idle)}
		n.internal(cas, func(a net.Message) {
			if _, ok := a.(*net.Bool); !ok {
				again() // read it again: the give-back may have happened
				return
			}
			n.dropped()
		})
	})
}

// dropped ends a give-back (dropOwnLeave), if one runs.
func (n *Node) dropped() {
	if n.life == GivingBack {
		n.life = Member
	}
}

// isSystemKey reports whether key belongs to the cluster itself.
func isSystemKey(key []byte) bool { return bytes.HasPrefix(key, []byte(systemPrefix)) }

// internalConn is the connection id of requests the node makes of itself:
// their answers go to the callback internal registered, not to a client.
const internalConn = ^net.ConnID(0)

// internal runs request m as if a client had sent it, and calls done with
// the answer.
func (n *Node) internal(m net.Message, done func(net.Message)) {
	id := n.await(done)
	switch m := m.(type) {
	case *net.Get:
		n.startSerialRead(internalConn, id, m.Key, false)
	case *net.CAS:
		n.startCAS(internalConn, id, m)
	default:
		panic(fmt.Sprintf("node: no internal %s request", m.Kind()))
	}
}

// await registers done for the answer to a request of internalConn and
// returns the request's id.
func (n *Node) await(done func(net.Message)) uint64 {
	n.nextOp++
	n.waiting[n.nextOp] = done
	return n.nextOp
}

// answerInternal hands the answer to request id of internalConn to its
// callback.
func (n *Node) answerInternal(id uint64, m net.Message) {
	done, ok := n.waiting[id]
	if !ok {
		return
	}
	delete(n.waiting, id)
	done(m)
}
