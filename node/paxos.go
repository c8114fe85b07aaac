package node

import (
	"fmt"
	"slices"
	"time"

	"github.com/memdb/memdb/clock"
	"github.com/memdb/memdb/net"
	"github.com/memdb/memdb/node/paxos"
	"github.com/memdb/memdb/node/quorum"
	"github.com/memdb/memdb/node/store"
)

// round is one client request run as Paxos rounds: see the package doc
// (Paxos: the proposer). Its decisions are node/paxos's Round; the node
// carries them out.
type round struct {
	conn     net.ConnID
	req      uint64
	full     bool // a read that must run a full round, never the peek (node/paxos/repair)
	deadline time.Time
	p        *paxos.Round
	// epoch is the ring epoch of the view the current attempt's groups
	// were drawn from. Every phase of the attempt carries it, not the
	// epoch of the moment: an acceptor on a later ring fences a phase
	// sent to the groups of an earlier one. Stamped with a later epoch
	// than its groups', a phase reached acceptors that no longer
	// replicated the key, none fenced it, and one answered with its
	// stale state (cas-churn seed 5272: a serial contains read false).
	epoch uint64
}

// Backoff after a refused ballot: uniform in [0, base·2^attempt), capped.
const (
	paxosBackoffBase = 2 * time.Millisecond
	paxosBackoffMax  = 200 * time.Millisecond
	// A retried ballot jumps uniform in [0, base·2^attempt) counters past
	// the highest refusal, doubling at most this many times.
	paxosJumpBase      = 4
	paxosJumpDoublings = 10
	// A phase waits for an acceptor at most this share of the request's
	// deadline, so that one slow acceptor costs an attempt, not the
	// request.
	paxosPhaseShare = 4
)

// startCAS, startSerialRead and startPaxosPut turn client requests into
// rounds.
func (n *Node) startCAS(c net.ConnID, id uint64, m *net.CAS) {
	n.coordinatePaxos(c, id, paxos.Request{Kind: paxos.CAS, Key: slices.Clone(m.Key), OldFound: m.OldFound,
		Old: slices.Clone(m.Old), Value: slices.Clone(m.New)}, false)
}

func (n *Node) startSerialRead(c net.ConnID, id uint64, key []byte, contains bool) {
	n.coordinatePaxos(c, id, paxos.Request{Kind: paxos.Read, Key: slices.Clone(key), Contains: contains}, false)
}

func (n *Node) startPaxosPut(c net.ConnID, id uint64, key, value []byte) {
	n.coordinatePaxos(c, id, paxos.Request{Kind: paxos.Put, Key: slices.Clone(key), Value: slices.Clone(value)}, false)
}

// coordinatePaxos runs req, client c's request id, as a round: a serial
// read takes the read-only path first unless full.
func (n *Node) coordinatePaxos(c net.ConnID, id uint64, req paxos.Request, full bool) {
	if n.err != nil {
		n.fail(c, id, net.CodeUnavailable, "node %d cannot run Paxos until it restarts: %v", n.cfg.ID, n.err)
		return
	}
	r := &round{conn: c, req: id, full: full, deadline: n.env.Clock.Now().Add(n.cfg.RequestTimeout),
		p: paxos.NewRound(req, n.proposer())}
	n.stats.PaxosRequests++
	if req.Kind == paxos.Read && !full {
		n.readOnly(r)
		return
	}
	n.attempt(r)
}

// proposer is what a round knows of this node, its planted bugs included.
func (n *Node) proposer() paxos.Proposer {
	return paxos.Proposer{ID: uint16(n.cfg.ID), Timeout: n.cfg.RequestTimeout,
		IgnoreAccepted: n.mutant(MutantIgnoreAccepted), ReadUncommitted: n.mutant(MutantReadUncommitted)}
}

// attempt starts one prepare at a new ballot.
func (n *Node) attempt(r *round) {
	if r.p.Done() {
		return
	}
	if !n.env.Clock.Now().Before(r.deadline) {
		n.carryOut(r, r.p.GiveUp())
		return
	}
	key := r.p.Request().Key
	gs, all := n.paxosGroups(key)
	if !n.reachable(r.conn, r.req, r.p.Request().Kind.String(), gs, all, net.Quorum) {
		r.p.Stop()
		n.paxosEnded(r, PaxosUnavailable)
		return
	}
	n.stamp(func(t clock.Timestamp) {
		if t.IsZero() {
			r.p.Stop()
			n.paxosEnded(r, PaxosFailed)
			n.fail(r.conn, r.req, net.CodeUnavailable, "node %d could not reserve a ballot (its log broke): %v", n.cfg.ID, n.err)
			return
		}
		// The ring may have changed while the ballot waited for its lease
		// (a sync of the log): the prepare carries the epoch of now, so it
		// goes to the acceptors of now. Sent to those found above, it
		// reached acceptors of the old ring on the new epoch, which none
		// fences: one that no longer replicated the key promised with its
		// stale state (cas-churn seed 5272).
		gs, all = n.paxosGroups(key)
		r.epoch = n.view.Epoch
		// The acceptors found up above may have been declared dead while
		// the ballot waited: a prepare sent to none would never be
		// answered, and a round has no timer of its own (only its calls
		// do), so it would never end — a join reading the movement lock
		// waited for good (cas-chaos seed 2569).
		if !n.reachable(r.conn, r.req, r.p.Request().Kind.String(), gs, all, net.Quorum) {
			r.p.Stop()
			n.paxosEnded(r, PaxosUnavailable)
			return
		}
		if n.mutant(MutantSharedBallots) {
			t.Node = 0
		}
		n.stats.PaxosAttempts++
		n.probeIf(len(gs) > 1, ProbePaxosTwoRings)
		n.sendPhase(r, r.p.Prepare(t, gs, n.live(all)))
	})
}

// readOnly starts serial read r on the read-only path: a peek, and a full
// round only if it must (see the package doc, Paxos: serial reads without
// a ballot).
func (n *Node) readOnly(r *round) {
	key := r.p.Request().Key
	gs, all := n.paxosGroups(key)
	if !n.reachable(r.conn, r.req, r.p.Request().Kind.String(), gs, all, net.Quorum) {
		r.p.Stop()
		n.paxosEnded(r, PaxosUnavailable)
		return
	}
	n.stats.PaxosReadOnly++
	r.epoch = n.view.Epoch
	n.sendPhase(r, r.p.Peek(gs, n.live(all)))
}

// paxosGroups is the replica sets a Paxos round needs a quorum of: both
// rings' while a node joins or leaves (a quorum of the old replicas and one
// of the new), so that a proposal chosen on one side is seen from the
// other.
func (n *Node) paxosGroups(key []byte) (quorum.Joint, []uint16) {
	gs, all := n.groups(key)
	if n.mutant(MutantStaleRing) && len(gs) > 1 {
		return gs[:1], gs[0]
	}
	return gs, all
}

// sendPhase sends phase s of round r to every acceptor it asks, and
// carries out what the round decides on each answer.
func (n *Node) sendPhase(r *round, s paxos.Send) {
	key := r.p.Request().Key
	var m net.Message
	switch s.Kind {
	case paxos.Prepare:
		n.env.Log.Debug("paxos prepare", "what", r.p.Request().Kind, "key", string(key), "ballot", s.Ballot.String(), "asked", s.Asked, "groups", r.p.Groups())
		m = &net.Prepare{Epoch: r.epoch, Ballot: s.Ballot, Key: key}
	case paxos.Propose:
		n.env.Log.Debug("paxos propose", "key", string(key), "ballot", s.Ballot.String(), "ours", s.Ours, "value", string(s.Value))
		m = &net.Propose{Epoch: r.epoch, Ballot: s.Ballot, Key: key, Value: s.Value}
	case paxos.Peek:
		n.env.Log.Debug("paxos peek", "key", string(key), "asked", s.Asked, "groups", r.p.Groups())
		m = &net.Peek{Epoch: r.epoch, Key: key}
	}
	n.stats.PaxosPhases++
	for _, id := range s.Asked {
		n.acceptorCall(id, r.deadline, m, func(a net.Message) {
			step, counted := r.p.Answer(s.Seq, id, a)
			if !counted {
				return // the phase is over
			}
			// A ballot an acceptor names advances the clock, so that this
			// node's next ballot is above it.
			switch a := a.(type) {
			case *net.Promise:
				n.lamport.Observe(a.Promised)
			case *net.Accepted:
				n.lamport.Observe(a.Promised)
			}
			if s.Kind == paxos.Propose {
				ok, refused, silent := r.p.Tally()
				n.env.Log.Debug("paxos proposal answered", "key", string(key), "ballot", s.Ballot.String(), "ok", ok, "refused", refused, "silent", silent)
			}
			if step.Saw != nil {
				n.logSurvey(s, key, step.Saw)
			}
			n.carryOut(r, step)
		})
	}
}

// logSurvey logs what a quorum of promises (or peeks) of phase s showed.
func (n *Node) logSurvey(s paxos.Send, key []byte, saw *paxos.Survey) {
	if s.Kind == paxos.Peek {
		n.env.Log.Debug("paxos peeked", "key", string(key), "by", saw.By,
			"newest", saw.Newest.Stamp.String(), "in_progress", saw.InProgress.String())
		return
	}
	n.env.Log.Debug("paxos promised", "key", string(key), "ballot", s.Ballot.String(), "by", saw.By,
		"newest", saw.Newest.Stamp.String(), "in_progress", saw.InProgress.String())
}

// carryOut does what round r decided: counts it, commits a chosen value,
// and sends, answers, retries or starts over.
func (n *Node) carryOut(r *round, s paxos.Step) {
	switch s.Why {
	case paxos.FinishOther:
		n.stats.PaxosFinished++
		n.probe(ProbePaxosFinishOther)
	case paxos.Chosen:
		n.probeIf(len(r.p.Groups()) > 1, ProbeCASTwoRings)
	case paxos.Preempted:
		n.probe(ProbePaxosPreempted)
	case paxos.Unknown:
		ok, _, _ := r.p.Tally()
		n.stats.PaxosUnknown++
		n.probeIf(len(ok) > 0, ProbePaxosUnknownMinority)
	case paxos.Contention:
		n.stats.PaxosContention++
		n.probe(ProbePaxosContention)
	case paxos.Unavailable:
		n.stats.Unavailable++
	case paxos.FallBackInProgress:
		n.probe(ProbeReadFallbackInProgress)
		n.stats.PaxosReadFallbacks++
	case paxos.FallBackSilent:
		n.probe(ProbeReadFallbackSilent)
		n.stats.PaxosReadFallbacks++
	}
	if s.Commit {
		n.commit(r.p.Request().Key, s.Chosen.Value, s.Chosen.Ballot)
	}
	switch s.Do {
	case paxos.SendOut:
		n.sendPhase(r, s.Send)
	case paxos.Reply:
		n.stats.PaxosDone++
		n.paxosEnded(r, paxosOutcome(r.p.Request().Kind, s.Reply, 0))
		n.reply(r.conn, r.req, s.Reply)
	case paxos.Fail:
		n.paxosEnded(r, paxosOutcome(r.p.Request().Kind, nil, s.Code))
		n.reply(r.conn, r.req, &net.Error{Code: s.Code, Message: s.Text})
	case paxos.Retry:
		n.retry(r)
	case paxos.Attempt:
		n.attempt(r)
	}
}

// retry starts another attempt after a randomized backoff, or gives up at
// the deadline. The next ballot also jumps a random, growing distance past
// the highest one that refused this round: a proposer far from the
// replicas would otherwise lose every race to one next to them, whose
// ballots climb while its prepare is in flight.
func (n *Node) retry(r *round) {
	n.stats.PaxosRetries++
	limit := min(paxosBackoffMax, paxosBackoffBase<<min(r.p.Attempts(), 16))
	d := time.Duration(n.env.Rand.Int64N(int64(limit)))
	if !n.env.Clock.Now().Add(d).Before(r.deadline) {
		n.carryOut(r, r.p.GiveUp())
		return
	}
	if h := r.p.Highest(); !h.IsZero() {
		jump := uint64(n.env.Rand.Int64N(int64(paxosJumpBase) << min(r.p.Attempts(), paxosJumpDoublings)))
		n.lamport.Observe(clock.Timestamp{Counter: h.Counter + jump})
	}
	n.later(d, func() { n.attempt(r) })
}

// commit writes a chosen value to every replica of key, stamped with its
// ballot, in the background: replicas that do not acknowledge get a hint.
func (n *Node) commit(key, value []byte, ballot clock.Timestamp) {
	n.writeBehind(key, store.RegisterAt(value, false, ballot), n.cfg.RequestTimeout)
}

// acceptorCall sends m to acceptor id, or hands it to this node's own
// acceptor, and gives done the answer (nil if none came by deadline).
func (n *Node) acceptorCall(id uint16, deadline time.Time, m net.Message, done func(net.Message)) {
	if id == uint16(n.cfg.ID) {
		if !n.serving() {
			done(&net.Error{Code: net.CodeUnavailable, Message: n.notServing().Error()})
			return
		}
		// This node's own acceptor fences a phase drawn on an earlier
		// ring, as a peer's does (fenced).
		if e := phaseEpoch(m); e < n.view.Epoch {
			n.stats.Fenced++
			n.probe(ProbeFenced)
			done(&net.Error{Code: net.CodeStaleRing, Message: fmt.Sprintf("node %d is at epoch %d, the request was made at %d", n.cfg.ID, n.view.Epoch, e)})
			return
		}
		switch m := m.(type) {
		case *net.Prepare:
			n.promise(m.Key, m.Ballot, func(p *net.Promise) { done(p) })
		case *net.Propose:
			n.accept(m.Key, m.Ballot, m.Value, func(a *net.Accepted) { done(a) })
		case *net.Peek:
			n.peek(m.Key, func(s *net.AcceptorState) { done(s) })
		}
		return
	}
	wait := min(deadline.Sub(n.env.Clock.Now()), n.cfg.RequestTimeout/paxosPhaseShare)
	n.ask(id, m, max(wait, time.Millisecond), done)
}

// phaseEpoch is the ring epoch a Prepare, Propose or Peek was sent at.
func phaseEpoch(m net.Message) uint64 {
	switch m := m.(type) {
	case *net.Prepare:
		return m.Epoch
	case *net.Propose:
		return m.Epoch
	case *net.Peek:
		return m.Epoch
	}
	return 0
}
