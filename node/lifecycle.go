package node

import (
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/memdb/memdb/net"
	"github.com/memdb/memdb/node/movement"
	"github.com/memdb/memdb/node/view"
)

// Life is where a node stands in its own life, by what it has done: it
// replaces the flags a node used to keep (fresh, rebuilding, leave asked,
// dropping, left self, departed). It moves forward only, except that a
// member giving back a stale movement lock returns to Member:
//
//	Fresh ──────────────► Member ◄──► GivingBack
//	  │  (turned normal)   │  ▲
//	  ▼                    │  └──────── Rebuilding (rebuilt)
//	Rebuilding ────────────┘ (fresh and found on the ring: lost state)
//	Member ─► LeaveAsked ─► LeftSelf ─► Departed
//
// and any life ends in Departed once gossip says another member removed
// this one. Its phase on the ring (view.Phase) is the cluster's side of the
// same story, spread by gossip; Life is what only this node knows.
type Life uint8

const (
	// Fresh: its log never had it on the ring, and it has seeds to join
	// through. It serves once gossip puts it on the ring (joining).
	Fresh Life = iota
	// Rebuilding: the cluster has it on the ring but its log does not
	// (its state was lost): it serves nothing from its data or acceptors
	// until it has rebuilt them from its replicas (rebuild.go). Logged as
	// a flag, so a restart resumes it.
	Rebuilding
	// Member: on the ring by its own log, with its data: a cluster's first
	// node, a node that joined, or one that restarted.
	Member
	// GivingBack: a member giving back the movement lock of a leave of
	// itself that never began (dropOwnLeave); Leave waits for it.
	GivingBack
	// LeaveAsked: Leave was called on this incarnation.
	LeaveAsked
	// LeftSelf: it turned itself left, the last step of a leave.
	LeftSelf
	// Departed: its leave has finished, every member on the ring has
	// confirmed it and the writes it coordinated are handed on (depart),
	// or another member removed it: the host should stop it for good.
	Departed
)

func (l Life) String() string {
	if int(l) < len(lives) {
		return lives[l]
	}
	return fmt.Sprintf("life(%d)", uint8(l))
}

var lives = [...]string{"fresh", "rebuilding", "member", "giving-back", "leave-asked", "left-self", "departed"}

// The delays of the node's background steps (movement.RetryProbes and
// SpreadProbes).
func (n *Node) retryDelay() time.Duration {
	return movement.RetryProbes * n.cfg.Gossip.ProbeInterval
}

func (n *Node) spreadDelay() time.Duration {
	return movement.SpreadProbes * n.cfg.Gossip.ProbeInterval
}

// later calls f after d, on the node's loop.
func (n *Node) later(d time.Duration, f func()) { n.env.Clock.AfterFunc(d, f) }

// mover is the node as the steps of its movements see it.
type mover struct{ n *Node }

var _ movement.Node = mover{}

func (m mover) View() view.View                          { return m.n.view }
func (m mover) Removing() map[uint16]bool                { return m.n.removing }
func (m mover) Stream(done func(bool))                   { m.n.catchUp(nil, done) }
func (m mover) ConfirmRing(done func(bool))              { m.n.confirmRing(done) }
func (m mover) Shared(taking bool) map[uint16][]net.Span { return m.n.sharedArcs(taking) }
func (m mover) Owners() map[uint16][]net.Span            { return m.n.ownersOf(false) }
func (m mover) Compare(shared map[uint16][]net.Span, done func(bool)) {
	m.n.compareAll(shared, done)
}
func (m mover) PaxosRepair(shared map[uint16][]net.Span, done func(bool)) {
	m.n.repairs.Run(shared, done)
}
func (m mover) CopyAcceptors(shared map[uint16][]net.Span, done func(bool)) {
	m.n.copyAcceptors(shared, done)
}
func (m mover) Take(a movement.TakeAsk, tries int, done func(bool)) { m.n.takeAsk(a, tries, done) }

// A node's join: the movement lock, joining, streaming its ranges twice,
// confirming the ring, comparing with every owner, Paxos repair, normal.
// node/movement's doc has the design (Membership, Range movements).

// startJoin takes the movement lock for this node's join, turns it
// joining and settles; until it has the lock it tries again.
func (n *Node) startJoin() {
	retry := func() {
		n.later(n.cfg.Gossip.ProbeInterval, n.settle)
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
				n.env.Log.Debug("ring not confirmed", "member", id, "answer", net.Describe(m))
			}
			done(isBatch(m))
		})
	}, done)
}

// A node's leave: the movement lock, leaving, handing each range to the
// members that gain it, Paxos repair, left. node/movement's doc has the
// design (Membership, Range movements).

// Leave decommissions the node: it turns leaving (reads still come to it,
// writes go to its successors too), pushes every range it replicates to the
// nodes that gain it, turns left, and calls done once every member on the
// ring has confirmed the ring in which it left (depart). The host then
// stops the node.
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
		// quorums, before the replica sets change (node/paxos/repair).
		n.repairs.Run(n.sharedArcs(false), func(repaired bool) {
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
			n.later(n.spreadDelay(), func() { n.depart(done) })
		})
	}
	movement.All(slices.Sorted(maps.Keys(byPeer)), func(p uint16, done func(bool)) { n.streams.Push(p, byPeer[p], done) }, finish)
}

// depart ends a leave once every member on the ring has confirmed the ring
// in which this node is left (confirmRing; one behind learns it from the
// exchange of membership its refusal starts), trying again until all have,
// and the node has handed on the writes it coordinated (drain): only then
// may the host stop the node. Turning left needs no one's answer (a leaver
// with no peer to push to or repair with is done at once), and news the
// node alone holds dies with it: a leaver partitioned away that stopped
// after a fixed delay stayed leaving on every other member for good,
// holding the movement lock, and every later join waited for it (cas-churn
// and cas-chaos seed 1082).
func (n *Node) depart(done func(error)) {
	n.confirmRing(func(ok bool) {
		switch {
		case n.stopped:
			return
		case !ok:
			n.later(n.retryDelay(), func() { n.depart(done) })
			return
		}
		n.drain(n.now()+drainFor*n.cfg.RequestTimeout, done)
	})
}

// drainFor bounds, in request timeouts, how long a leave waits for what
// its node coordinated to be handed on: a write waits a request timeout
// and is then hinted, and a hint batch a quarter of one, so a few are
// enough unless a replica that looks up never acknowledges (a one-way
// partition), whose hints then go with the node as a crash takes them.
const drainFor = 5

// drain ends a leave once nothing the node coordinated is still on its way
// to a replica that is up: no write waits for its replicas (one that does
// not answer in time is hinted), no write behind for its answer, and no
// hint for a live replica is undelivered. A node that has turned left takes
// no new requests (Request), so this comes. Stopped earlier, a write it
// acknowledged at level one reached only the replicas that answered at
// once, and the others waited for anti-entropy (chaos seed 2495, churn
// 1270). Hints for a replica that is down are dropped with the node, as a
// crash drops them: the replica's catch-up covers them; so is whatever is
// left once until has passed (drainFor).
func (n *Node) drain(until time.Duration, done func(error)) {
	if n.stopped {
		return
	}
	if (n.ops.Len() > 0 || n.behind > 0 || slices.ContainsFunc(n.hints.Replicas(), n.up)) && n.now() < until {
		n.later(n.cfg.Gossip.ProbeInterval/4, func() { n.drain(until, done) })
		return
	}
	n.life = Departed
	done(nil)
}
