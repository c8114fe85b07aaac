package node

import (
	"github.com/memdb/memdb/net"
	"github.com/memdb/memdb/node/movement"
	"github.com/memdb/memdb/node/view"
)

// A node's join: the movement lock, joining, streaming its ranges twice,
// confirming the ring, comparing with every owner, Paxos repair, normal.
// node/movement's doc has the design (Membership, Range movements).

// startJoin takes the movement lock for this node's join, turns it
// joining and settles; until it has the lock it tries again.
func (n *Node) startJoin() {
	retry := func() {
		n.env.Clock.AfterFunc(n.cfg.Gossip.ProbeInterval, n.settle)
	}
	if len(n.view.Read.IDs()) == 0 {
		// No member on the ring has been heard of yet (the seeds are
		// unreachable): there is nothing to join. Going on now would start
		// a cluster of one beside the real one.
		retry()
		return
	}
	if err := n.tokensFree(); err != nil {
		n.broke(err)
		return
	}
	if id, moving := movement.Moving(n.view, uint16(n.cfg.ID)); moving {
		// Another member joins or leaves: its movement holds the lock, so
		// asking for it costs Paxos rounds for nothing.
		n.env.Log.Debug("waiting for a movement to finish", "moving", id)
		retry()
		return
	}
	m, _ := n.gossip.Member(uint16(n.cfg.ID))
	want := movement.Join(uint16(n.cfg.ID), m.Ring)
	n.takeMove(want, func(ok bool) {
		if n.stopped {
			return
		}
		if m, _ := n.gossip.Member(uint16(n.cfg.ID)); !ok || movement.Join(uint16(n.cfg.ID), m.Ring) != want {
			retry()
			return
		}
		if err := n.tokensFree(); err != nil {
			// Another took one of its tokens while it waited for the lock.
			n.giveMove(want, 5)
			n.broke(err)
			return
		}
		n.setPhase(view.Joining)
		n.settle()
	})
}

// tokensFree checks that no other member on the ring holds one of this
// node's tokens.
func (n *Node) tokensFree() error { return movement.TokenTaken(n.gossip.Self(), n.gossip.Members()) }

// finishJoin runs once the joining state has had time to reach every
// member: it runs movement.JoinSteps (stream once more, confirm the ring,
// compare with every owner, Paxos repair) while the node is joining, and
// only then takes its ranges over. A second full pass costs a second copy
// of the ranges' data on a join; it is what keeps a write made in that
// window, by a coordinator that had not heard of the join, from being
// missing on the new replica.
func (n *Node) finishJoin() {
	joining := func() bool { return !n.stopped && n.phase() == view.Joining }
	retry := func(failed string) {
		n.env.Log.Debug("join: will try again", "step", failed)
		n.later(n.retryDelay(), n.finishJoin)
	}
	movement.Sequence(joining, retry, n.turnNormal, movement.JoinSteps(mover{n})...)
}

// turnNormal takes a joining node's ranges over and gives the movement
// lock back.
func (n *Node) turnNormal() {
	m, _ := n.gossip.Member(uint16(n.cfg.ID))
	n.setPhase(view.Normal)
	n.giveMove(movement.Move{Join: true, ID: uint16(n.cfg.ID), Version: m.Ring}, 5)
	if n.cfg.AntiEntropy > 0 {
		// Once more, for writes that were on their way to an old owner
		// while it compared.
		n.later(n.retryDelay(), n.repairAll)
	}
}

// confirmRing asks every other member on the ring whether it has reached
// this node's ring epoch (a Sync for no spans, which a member behind
// refuses), and reports whether all have. A node takes its ranges over only
// then, so that no coordinator is still on the ring from before its join —
// every request is made on the joint ring or the new one, whose quorums
// meet. Like a consistent range movement in Cassandra, a join waits while
// a member is unreachable.
//
// Only members this node is removing (remove.go) are not asked. One that
// merely looks dead may be alive behind a partition, coordinating on the
// old ring with replicas that are partitioned with it, where fencing
// cannot reach: a movement waits for it (or for its removal; a join that
// waits for a dead member holds the lock its removal needs, so the joiner
// must be stopped and removed first, and several dead members are removed
// through one node, which skips them all).
func (n *Node) confirmRing(done func(ok bool)) {
	others := movement.Confirmers(n.view, uint16(n.cfg.ID), n.removing)
	// Each member is asked a few times: with one try each, a lossy network
	// fails a confirmation of many members more often than not.
	isBatch := func(m net.Message) bool { _, ok := m.(*net.SyncBatch); return ok }
	movement.All(others, func(id uint16, done func(bool)) {
		n.askAgain(id, &net.Sync{Epoch: n.view.Epoch}, isBatch, func(m net.Message) {
			if !isBatch(m) {
				n.env.Log.Debug("ring not confirmed", "member", id, "answer", describeAnswer(m))
			}
			done(isBatch(m))
		})
	}, done)
}
