package node

import "time"

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

// The delays of the node's background steps, in gossip probe intervals.
const (
	// retryProbes: a movement, catch-up or rebuild step that failed tries
	// again after this long.
	retryProbes = 4
	// spreadProbes: a change of phase (or of the movement lock) is given
	// this long to spread by gossip before the step that relies on it.
	spreadProbes = 3
)

func (n *Node) retryDelay() time.Duration  { return retryProbes * n.cfg.Gossip.ProbeInterval }
func (n *Node) spreadDelay() time.Duration { return spreadProbes * n.cfg.Gossip.ProbeInterval }

// later calls f after d, on the node's loop.
func (n *Node) later(d time.Duration, f func()) { n.env.Clock.AfterFunc(d, f) }

// A step is one asynchronous part of a longer task (a join's catch-up, its
// ring confirmation, ...): run calls done once, with whether it succeeded.
// Its name says, in logs, where a task stopped.
type step struct {
	name string
	run  func(done func(ok bool))
}

// sequence runs steps one after another while valid holds (checked before
// the first step and after each answer: a task the node's life moved past
// stops quietly). A step that fails ends the sequence with retry, told
// which step failed; once every step succeeded, then runs.
func sequence(valid func() bool, retry func(failed string), then func(), steps ...step) {
	if !valid() {
		return
	}
	if len(steps) == 0 {
		then()
		return
	}
	steps[0].run(func(ok bool) {
		switch {
		case !valid():
		case !ok:
			retry(steps[0].name)
		default:
			sequence(valid, retry, then, steps[1:]...)
		}
	})
}

// all runs run for each of ps, in order and without waiting between them,
// and calls done once every one has answered, with whether all succeeded
// (at once, with true, if ps is empty). A streaming or comparison with
// each of a set of peers is this.
func all[T any](ps []T, run func(p T, done func(ok bool)), done func(ok bool)) {
	left, ok := len(ps), true
	if left == 0 {
		done(true)
		return
	}
	for _, p := range ps {
		run(p, func(one bool) {
			ok = ok && one
			if left--; left == 0 {
				done(ok)
			}
		})
	}
}
