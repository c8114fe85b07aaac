package node

import (
	"fmt"

	"github.com/memdb/memdb/node/movement"
	"github.com/memdb/memdb/node/view"
)

// A node's leave: the movement lock, leaving, handing each range to the
// members that gain it, Paxos repair, left. node/movement's doc has the
// design (Membership, Range movements).

// Leave decommissions the node: it turns leaving (reads still come to it,
// writes go to its successors too), pushes every range it replicates to the
// nodes that gain it, turns left, and calls done once that has had time to
// spread. The host then stops the node.
func (n *Node) Leave(done func(error)) {
	if p := n.phase(); p != view.Normal {
		done(fmt.Errorf("%w (it is %v)", ErrNotMember, p))
		return
	}
	if n.life == Rebuilding {
		done(ErrRebuilding)
		return
	}
	if n.life == GivingBack {
		// Giving back a lock of an earlier leave of this node: wait.
		n.later(n.retryDelay(), func() { n.Leave(done) })
		return
	}
	n.life = LeaveAsked
	m, _ := n.gossip.Member(uint16(n.cfg.ID))
	want := movement.Leave(uint16(n.cfg.ID), m.Ring)
	n.takeMove(want, func(ok bool) {
		switch {
		case n.stopped:
		case n.phase() != view.Normal:
			done(fmt.Errorf("%w (it is %v)", ErrNotMember, n.phase()))
		case !ok:
			// Another join or leave is running: wait for it.
			n.later(n.retryDelay(), func() { n.Leave(done) })
		default:
			n.setPhase(view.Leaving)
			n.later(n.spreadDelay(), func() { n.handOff(want, done) })
		}
	})
}

// handOff pushes each arc this node replicates to the nodes that gain it.
func (n *Node) handOff(mv movement.Move, done func(error)) {
	byPeer := movement.HandOff(n.view, uint16(n.cfg.ID))
	finish := func(ok bool) {
		if !ok {
			// Try again: the gainers may have been unreachable.
			n.later(n.retryDelay(), func() { n.handOff(mv, done) })
			return
		}
		// Finish every proposal in progress on its arcs, with joint
		// quorums, before the replica sets change (paxosrepair.go).
		n.paxosRepair(n.sharedArcs(false), func(repaired bool) {
			switch {
			case n.stopped:
				return
			case n.phase() == view.Left:
				n.life = Departed
				done(nil) // finished meanwhile
				return
			case n.phase() != view.Leaving:
				done(fmt.Errorf("%w (it is %v)", ErrNotMember, n.phase()))
				return
			}
			if !repaired {
				n.later(n.retryDelay(), func() { n.handOff(mv, done) })
				return
			}
			n.setPhase(view.Left)
			n.giveMove(mv, 3)
			n.later(n.spreadDelay(), func() {
				n.life = Departed
				done(nil)
			})
		})
	}
	movement.All(sortedKeys(byPeer), func(p uint16, done func(bool)) { n.push(p, byPeer[p], done) }, finish)
}
