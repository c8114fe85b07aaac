package node

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/memdb/memdb/net"
	"github.com/memdb/memdb/node/movement"
	"github.com/memdb/memdb/node/view"
)

// Removing a dead member: see node/movement's doc.

// ErrRemove is what Remove answers when the member cannot be removed.
var ErrRemove = errors.New("cannot remove the member")

// takeWait is how long the remover first waits for a gainer to take its
// arcs (a stream and a comparison per owner), in request timeouts, asking
// again each request timeout (askTake); each time the step is tried again
// it waits twice as long, up to takeWaitMax (a long stream gets the time
// it needs).
const (
	takeWait    = 4
	takeWaitMax = 32
)

// Remove takes member id off the ring for good (node/movement's doc) and calls done
// once it is marked left, or with why it cannot be removed. Until the
// movement lock is free it waits. One removal of a member runs at a time
// on a node.
func (n *Node) Remove(id uint16, done func(error)) {
	if n.removing[id] {
		done(fmt.Errorf("%w: node %d: a removal of it is already running on node %d", ErrRemove, id, n.cfg.ID))
		return
	}
	n.removing[id] = true
	n.tryRemove(id, func(err error) {
		delete(n.removing, id)
		done(err)
	})
}

// tryRemove checks that member id can be removed, takes the movement lock
// for it — for its leave, or for the movement it died holding — waiting
// while another movement holds it, moves it to leaving and goes on with
// removeArcs.
func (n *Node) tryRemove(id uint16, done func(error)) {
	self := uint16(n.cfg.ID)
	m, known := n.gossip.Member(id)
	p := view.PhaseOf(m.Ring)
	switch {
	case n.stopped:
		return
	case n.phase() != view.Normal || n.life == Rebuilding:
		done(fmt.Errorf("%w: only a normal member removes another (node %d is %v, %v)", ErrRemove, self, n.phase(), n.life))
		return
	case id == self:
		done(fmt.Errorf("%w: node %d cannot remove itself: ask it to leave", ErrRemove, id))
		return
	case !known || p == view.None || p == view.Left:
		done(fmt.Errorf("%w: node %d is not on the ring (it is %v)", ErrRemove, id, p))
		return
	case n.gossip.Alive(id):
		done(fmt.Errorf("%w: node %d is alive: ask it to leave, or stop it first", ErrRemove, id))
		return
	}
	want := movement.Removal(m)
	n.takeMove(want, func(ok bool) {
		if n.stopped {
			return
		}
		if !ok {
			n.later(n.retryDelay(), func() { n.tryRemove(id, done) })
			return
		}
		n.env.Log.Info("removing a member", "member", id, "movement", want.String())
		if p == view.Normal && n.gossip.Move(id, want.Version) {
			n.absorb()
		}
		n.later(n.spreadDelay(), func() { n.removeArcs(want, 0, done) })
	})
}

// removeArcs moves removed member mv.ID's arcs to the members that gain
// them and finishes the removal; until it can, it tries again.
func (n *Node) removeArcs(mv movement.Move, tries int, done func(error)) {
	if n.stopped {
		return
	}
	again := func(failed string) {
		n.env.Log.Info("removal: will try again", "member", mv.ID, "step", failed)
		n.later(n.retryDelay(), func() { n.removeArcs(mv, tries+1, done) })
	}
	if m, _ := n.gossip.Member(mv.ID); view.PhaseOf(m.Ring) == view.Left {
		n.giveMove(mv, 5)
		done(nil) // it came back and finished its leave, or another node removed it
		return
	}
	if mv.Join {
		n.removed(mv, done)
		return
	}
	always := func() bool { return true }
	movement.Sequence(always, again, func() { n.removed(mv, done) }, movement.RemovalSteps(mover{n}, mv.ID, tries)...)
}

// takeAsk has a removal's gainer take its arcs: this node itself, or a
// peer asked for a while that grows with the removal's tries.
func (n *Node) takeAsk(a movement.TakeAsk, tries int, done func(bool)) {
	if a.Gainer == uint16(n.cfg.ID) {
		n.take(a.Take.Spans, a.Take.From, done)
		return
	}
	wait := time.Duration(min(takeWait<<min(tries, 8), takeWaitMax)) * n.cfg.RequestTimeout
	n.askTake(a.Gainer, a.Take, wait, done)
}

// removed marks removed member mv.ID left, gives the lock back, and calls
// done once that has had time to spread.
func (n *Node) removed(mv movement.Move, done func(error)) {
	if n.gossip.Remove(mv.ID) {
		n.absorb()
	}
	n.giveMove(mv, 5)
	n.env.Log.Info("removed a member", "member", mv.ID)
	n.later(n.spreadDelay(), func() { done(nil) })
}

// askTake sends Take t to gainer g and calls done with whether g took the
// arcs. A request unanswered for a request timeout is sent again (the
// gainer joins the take already running: takeFor), until wait has passed.
func (n *Node) askTake(g uint16, t *net.Take, wait time.Duration, done func(bool)) {
	deadline := n.env.Clock.Now().Add(wait)
	var try func()
	try = func() {
		n.ask(g, t, n.cfg.RequestTimeout, func(m net.Message) {
			if _, took := m.(*net.Done); took {
				done(true)
				return
			}
			if m == nil && !n.stopped && n.env.Clock.Now().Before(deadline) {
				try()
				return
			}
			n.env.Log.Info("removal: a gainer did not take its arcs", "gainer", g, "answer", net.Describe(m))
			done(false)
		})
	}
	try()
}

// takeFor serves a remover's Take. The same Take asked again while it runs
// (its answer was lost, or it is long) joins it, and each asking is
// answered when it ends.
func (n *Node) takeFor(from uint16, id uint64, m *net.Take) {
	if n.otherRing(from, id, m.Epoch) {
		return
	}
	answer := func(ok bool) {
		if ok {
			n.send(from, id, &net.Done{})
			return
		}
		n.send(from, id, &net.Error{Code: net.CodeUnavailable, Message: fmt.Sprintf("node %d could not take the arcs from %v", n.cfg.ID, m.From)})
	}
	key := fmt.Sprint(m.Epoch, m.Spans, m.From)
	if waiting, running := n.taking[key]; running {
		n.taking[key] = append(waiting, answer)
		return
	}
	n.taking[key] = []func(bool){answer}
	n.take(m.Spans, m.From, func(ok bool) {
		waiting := n.taking[key]
		delete(n.taking, key)
		for _, a := range waiting {
			a(ok)
		}
	})
}

// take streams spans from one of owners (the first that is up and serves
// them), then compares them with every other owner and pulls what
// differs; done hears whether all of it succeeded.
func (n *Node) take(spans []net.Span, owners []uint16, done func(ok bool)) {
	self := uint16(n.cfg.ID)
	others := slices.DeleteFunc(slices.Clone(owners), func(o uint16) bool { return o == self || !n.up(o) })
	var from func(i int)
	from = func(i int) {
		if i == len(others) {
			done(false)
			return
		}
		n.streams.Pull(others[i], spans, nil, func(ok bool) {
			if !ok {
				from(i + 1)
				return
			}
			rest := map[uint16][]net.Span{}
			for _, o := range others {
				if o != others[i] {
					rest[o] = spans
				}
			}
			n.compareAll(rest, done)
		})
	}
	from(0)
}
