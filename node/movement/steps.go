package movement

import (
	"github.com/memdb/memdb/net"
	"github.com/memdb/memdb/node/view"
)

// The delays of a movement's background steps, in gossip probe intervals.
const (
	// RetryProbes: a movement, catch-up or rebuild step that failed tries
	// again after this long.
	RetryProbes = 4
	// SpreadProbes: a change of phase (or of the movement lock) is given
	// this long to spread by gossip before the step that relies on it.
	SpreadProbes = 3
)

// A Step is one asynchronous part of a longer task (a join's catch-up, its
// ring confirmation, ...): Run calls done once, with whether it succeeded.
// Its Name says, in logs, where a task stopped.
type Step struct {
	Name string
	Run  func(done func(ok bool))
}

// Sequence runs steps one after another while valid holds (checked before
// the first step and after each answer: a task the node's life moved past
// stops quietly). A step that fails ends the sequence with retry, told
// which step failed; once every step succeeded, then runs.
func Sequence(valid func() bool, retry func(failed string), then func(), steps ...Step) {
	if !valid() {
		return
	}
	if len(steps) == 0 {
		then()
		return
	}
	steps[0].Run(func(ok bool) {
		switch {
		case !valid():
		case !ok:
			retry(steps[0].Name)
		default:
			Sequence(valid, retry, then, steps[1:]...)
		}
	})
}

// All runs run for each of ps, in order and without waiting between them,
// and calls done once every one has answered, with whether all succeeded
// (at once, with true, if ps is empty). A streaming or comparison with
// each of a set of peers is this.
func All[T any](ps []T, run func(p T, done func(ok bool)), done func(ok bool)) {
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

// Node is what the steps of a join, a removal and a rebuild ask of the
// node that runs them, on its loop. A method that takes done starts an
// asynchronous part and calls done once, with whether it succeeded; the
// others answer at once. Arcs are given as owner → arcs.
type Node interface {
	// View is the node's view of the ring now.
	View() view.View
	// Removing are the members the node is removing (dead for good).
	Removing() map[uint16]bool
	// Stream pulls everything in every arc the node replicates on either
	// ring, each from an owner that is up (CatchUp).
	Stream(done func(ok bool))
	// ConfirmRing asks every member Confirmers names whether it has
	// reached the node's ring epoch.
	ConfirmRing(done func(ok bool))
	// Shared is, for each other owner of arcs the node owns (or, if
	// taking, will own once its join is done), those arcs — but for
	// owners the failure detector has declared dead; Owners is
	// Shared(false) with every owner.
	Shared(taking bool) map[uint16][]net.Span
	Owners() map[uint16][]net.Span
	// Compare compares each owner's arcs with it and pulls what differs.
	Compare(shared map[uint16][]net.Span, done func(ok bool))
	// PaxosRepair finishes every proposal in progress on the arcs.
	PaxosRepair(shared map[uint16][]net.Span, done func(ok bool))
	// CopyAcceptors takes over, per key of the arcs, the highest promise
	// and acceptance among the owners' acceptor states.
	CopyAcceptors(shared map[uint16][]net.Span, done func(ok bool))
	// Take has gainer a.Gainer (perhaps the node itself) take a.Take;
	// tries is how often the removal has tried before.
	Take(a TakeAsk, tries int, done func(ok bool))
}

// JoinSteps finish a joining node's join, once its joining phase has had
// time to reach every member: a coordinator that had not heard of the
// join sent its writes only to the old replicas, so the node streams its
// ranges once more, waits until every member has confirmed its ring (from
// then on every write reaches it), compares each arc it takes with every
// owner of it and pulls what differs (its streams came from one owner per
// arc), and finishes the proposals in progress on them. Then it may take
// its ranges over.
func JoinSteps(n Node) []Step {
	return []Step{
		{"stream", n.Stream},
		{"confirm the ring", n.ConfirmRing},
		{"compare with every owner", func(done func(bool)) { n.Compare(n.Shared(true), done) }},
		{"paxos repair", func(done func(bool)) { n.PaxosRepair(n.Shared(true), done) }},
	}
}

// RebuildSteps rebuild a node's lost state: stream every arc it
// replicates, take over its owners' acceptor state — every owner's, up or
// not — then compare every arc with each of them (see the package doc).
func RebuildSteps(n Node) []Step {
	var owners map[uint16][]net.Span
	return []Step{
		{"stream", n.Stream},
		{"acceptor state", func(done func(bool)) {
			owners = n.Owners()
			n.CopyAcceptors(owners, done)
		}},
		{"compare", func(done func(bool)) { n.Compare(owners, done) }},
	}
}

// RemovalSteps move removed member id's arcs to the members that gain
// them, once every other member has confirmed the ring without it: each
// gainer takes its arcs (Takes, planned once the ring is confirmed), then
// the proposals in progress on the remaining owners' arcs are finished.
// tries is how often the removal has tried before.
func RemovalSteps(n Node, id uint16, tries int) []Step {
	var owners map[uint16][]net.Span
	return []Step{
		{"confirm the ring", n.ConfirmRing},
		{"take the arcs", func(done func(bool)) {
			var asks []TakeAsk
			asks, owners = Takes(n.View(), id, n.Removing())
			All(asks, func(a TakeAsk, done func(bool)) { n.Take(a, tries, done) }, done)
		}},
		{"paxos repair", func(done func(bool)) { n.PaxosRepair(owners, done) }},
	}
}
