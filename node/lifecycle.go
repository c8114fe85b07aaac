package node

import (
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
	// Departed: its leave has finished and had time to spread, or another
	// member removed it: the host should stop it for good.
	Departed
)

func (l Life) String() string {
	return [...]string{"fresh", "rebuilding", "member", "giving-back", "leave-asked", "left-self", "departed"}[l]
}

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
	m.n.paxosRepair(shared, done)
}
func (m mover) CopyAcceptors(shared map[uint16][]net.Span, done func(bool)) {
	m.n.copyAcceptors(shared, done)
}
func (m mover) Take(a movement.TakeAsk, tries int, done func(bool)) { m.n.takeAsk(a, tries, done) }
