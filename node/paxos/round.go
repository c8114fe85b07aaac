package paxos

import (
	"bytes"
	"fmt"
	"slices"

	"github.com/memdb/memdb/clock"
	"github.com/memdb/memdb/net"
	"github.com/memdb/memdb/node/quorum"
	"github.com/memdb/memdb/node/store"
)

// Round is the proposer of one client request, run as Paxos attempts (see
// the package doc). It is pure: the node gives it ballots, replica groups
// and the acceptors to ask (Peek, Prepare), and their answers (Answer);
// each returns a Step the node carries out. Sending, timers, backoff and
// the ballot jump, stats and logging are the node's.
type Round struct {
	req Request
	by  Proposer

	attempts int
	refused  bool            // some attempt was refused by a higher ballot
	highest  clock.Timestamp // the highest ballot a refusal named
	// chosen is the last proposal of another this round finished: it is
	// committed, whatever promises that arrive before its commit say.
	chosen Proposal
	done   bool

	// The current attempt.
	ballot clock.Timestamp
	groups quorum.Joint
	asked  []uint16
	seq    int // the current phase's
	ph     phase
}

// A phase is one prepare, propose or peek sent to every acceptor a round
// asked, and its answers so far.
type phase struct {
	kind     PhaseKind
	ours     bool // propose: the value is the client's own, not one being finished
	value    []byte
	ok       []uint16
	refused  []uint16
	silent   []uint16 // did not answer in time, or refused without showing it never accepted
	promises []*net.Promise
	over     bool
}

// NewRound returns a round for req, run by the proposer by.
func NewRound(req Request, by Proposer) *Round { return &Round{req: req, by: by} }

// Request is the request the round runs.
func (r *Round) Request() Request { return r.req }

// Done reports whether the round is over: the client has its answer.
func (r *Round) Done() bool { return r.done }

// Stop ends the round: the node answered the client itself (no replica
// could be reached, no ballot could be had).
func (r *Round) Stop() { r.done = true }

// Attempts is how many ballots the round has tried.
func (r *Round) Attempts() int { return r.attempts }

// Highest is the highest ballot an acceptor answered with (zero if none):
// a retry's ballot must beat it.
func (r *Round) Highest() clock.Timestamp { return r.highest }

// Ballot is the current attempt's ballot.
func (r *Round) Ballot() clock.Timestamp { return r.ballot }

// Groups is the replica groups the current attempt needs a quorum of.
func (r *Round) Groups() quorum.Joint { return r.groups }

// Tally is the current phase's answers so far: yes, refused, silent.
func (r *Round) Tally() (ok, refused, silent []uint16) { return r.ph.ok, r.ph.refused, r.ph.silent }

// Peek starts a serial read's read-only look: a peek at the acceptor state
// of asked, which must show a quorum of every group of groups.
func (r *Round) Peek(groups quorum.Joint, asked []uint16) Send {
	r.groups, r.asked = groups, asked
	return r.start(phase{kind: Peek})
}

// Prepare starts an attempt at ballot: a prepare to asked, which must
// promise a quorum of every group of groups.
func (r *Round) Prepare(ballot clock.Timestamp, groups quorum.Joint, asked []uint16) Send {
	r.attempts++
	r.ballot, r.groups, r.asked = ballot, groups, asked
	return r.start(phase{kind: Prepare})
}

// start makes ph the current phase.
func (r *Round) start(ph phase) Send {
	r.seq++
	r.ph = ph
	return Send{Seq: r.seq, Kind: ph.kind, Ballot: r.ballot, Value: ph.value, Ours: ph.ours, Asked: r.asked}
}

// Answer takes acceptor from's answer m to phase seq (nil if none came in
// time). counted is false if the answer no longer matters — its phase is
// over or another began — and the step is then to wait.
func (r *Round) Answer(seq int, from uint16, m net.Message) (s Step, counted bool) {
	ph := &r.ph
	if seq != r.seq || ph.over {
		return Step{}, false
	}
	switch a := m.(type) {
	case *net.Promise:
		r.highest = r.highest.Max(a.Promised)
		r.count(from, a)
	case *net.Accepted:
		r.highest = r.highest.Max(a.Promised)
		r.count(from, a)
	case *net.AcceptorState:
		r.count(from, a)
	case *net.Error:
		if ph.kind == Propose {
			// An error (a fence on a stale ring, a node not serving) says
			// nothing of the proposal: the network may have delivered a
			// copy of it earlier that the acceptor took, whose acceptance
			// is still syncing while the error to the later copy comes
			// back at once (lock seed 3939). Like a refusal that does not
			// show the ballot was never taken, it is silence.
			ph.silent = append(ph.silent, from)
			break
		}
		ph.refused = append(ph.refused, from)
	default:
		ph.silent = append(ph.silent, from)
	}
	switch ph.kind {
	case Prepare:
		return r.prepared(), true
	case Propose:
		return r.proposed(), true
	}
	return r.peeked(), true
}

// count tallies a Promise, Accepted or AcceptorState by the phase's kind;
// an answer of the wrong kind is silence.
func (r *Round) count(from uint16, m net.Message) {
	ph := &r.ph
	switch ph.kind {
	case Prepare:
		p, ok := m.(*net.Promise)
		switch {
		case !ok:
			ph.silent = append(ph.silent, from)
		case p.OK:
			ph.ok = append(ph.ok, from)
			ph.promises = append(ph.promises, p)
		default:
			ph.refused = append(ph.refused, from)
			r.refused = true
		}
	case Propose:
		a, ok := m.(*net.Accepted)
		switch {
		case !ok:
			ph.silent = append(ph.silent, from)
		case a.OK:
			ph.ok = append(ph.ok, from)
		case !a.Accepted.Less(r.ballot):
			// The acceptor moved past this ballot: it may have accepted
			// this proposal before it did.
			ph.silent = append(ph.silent, from)
			r.refused = true
		default:
			ph.refused = append(ph.refused, from)
			r.refused = true
		}
	case Peek:
		s, ok := m.(*net.AcceptorState)
		if !ok {
			ph.silent = append(ph.silent, from)
			return
		}
		ph.ok = append(ph.ok, from)
		ph.promises = append(ph.promises, &net.Promise{OK: true,
			Accepted: s.Accepted, Value: s.Value, Found: s.Found, Version: s.Version, Current: s.Current})
	}
}

// result is the current phase's verdict at quorum: a refusal and silence
// both count as no.
func (r *Round) result() quorum.Result {
	ph := &r.ph
	return r.groups.Result(net.Quorum, r.asked, ph.ok, append(slices.Clip(ph.refused), ph.silent...))
}

// prepared decides what a prepare phase leads to, once it can.
func (r *Round) prepared() Step {
	switch r.result() {
	case quorum.Won:
		r.ph.over = true
		return r.promised()
	case quorum.Lost:
		// Nothing was proposed in this attempt, so trying again is safe.
		r.ph.over = true
		return Step{Do: Retry}
	}
	return Step{}
}

// survey returns the newest committed version the promises (or peeked
// states) show, and the newest proposal in progress among them: the
// proposal with the highest ballot that some acceptor accepted and has not
// seen committed (zero if none).
func survey(ps []*net.Promise) (newest store.Version, inProgress Proposal) {
	for _, p := range ps {
		if newest.Stamp.Less(p.Version) {
			newest = store.FromAcceptorState(p.Found, p.Version, p.Current)
		}
		if inProgress.Ballot.Less(p.Accepted) {
			inProgress = Proposal{p.Accepted, p.Value}
		}
	}
	return newest, inProgress
}

// promised acts on a quorum of promises.
func (r *Round) promised() Step {
	newest, inProgress := survey(r.ph.promises)
	if newest.Stamp.Less(r.chosen.Ballot) {
		newest = store.RegisterAt(r.chosen.Value, false, r.chosen.Ballot)
	}
	saw := &Survey{By: r.ph.ok, Newest: newest, InProgress: inProgress.Ballot}
	if newest.Stamp.Less(inProgress.Ballot) && !r.by.IgnoreAccepted {
		if r.req.Kind == Read && r.by.ReadUncommitted {
			s := r.answer(store.RegisterAt(inProgress.Value, false, inProgress.Ballot))
			s.Saw = saw
			return s
		}
		// A proposal that may have been chosen: finish it before anything.
		return Step{Do: SendOut, Why: FinishOther, Send: r.propose(inProgress.Value, false), Saw: saw}
	}
	var s Step
	switch r.req.Kind {
	case Read:
		s = r.answer(newest)
	case CAS:
		if newest.Live() != r.req.OldFound || (r.req.OldFound && !bytes.Equal(newest.Value, r.req.Old)) {
			r.done = true
			s = Step{Do: Reply, Reply: &net.Bool{Value: false}}
			break
		}
		s = Step{Do: SendOut, Send: r.propose(r.req.Value, true)}
	case Put:
		s = Step{Do: SendOut, Send: r.propose(r.req.Value, true)}
	}
	s.Saw = saw
	return s
}

// answer ends a read with version v.
func (r *Round) answer(v store.Version) Step {
	r.done = true
	return Step{Do: Reply, Reply: store.ReadAnswer(v, r.req.Contains)}
}

// propose starts a propose phase of value at the attempt's ballot, to the
// acceptors that promised it and to the rest it asked (an acceptor that
// missed the prepare may still accept).
func (r *Round) propose(value []byte, ours bool) Send {
	return r.start(phase{kind: Propose, ours: ours, value: value})
}

// proposed decides what a propose phase leads to, once it can.
func (r *Round) proposed() Step {
	ph := &r.ph
	res := r.result()
	if res == quorum.Won {
		ph.over = true
		s := Step{Commit: true, Chosen: Proposal{r.ballot, ph.value}}
		switch {
		case !ph.ours && r.req.Kind == Read:
			a := r.answer(store.RegisterAt(ph.value, false, r.ballot))
			s.Do, s.Reply = a.Do, a.Reply
		case !ph.ours:
			// The finished proposal is committed; now ours.
			r.chosen = s.Chosen
			s.Do = Attempt
		default:
			r.done = true
			s.Do, s.Why = Reply, Chosen
			if r.req.Kind == CAS {
				s.Reply = &net.Bool{Value: true}
			} else {
				s.Reply = &net.Done{Version: r.ballot}
			}
		}
		return s
	}
	if res == quorum.Pending {
		return Step{} // a quorum may still accept
	}
	if !ph.ours {
		ph.over = true
		return Step{Do: Retry}
	}
	// The client's value cannot be chosen at this ballot. If every acceptor
	// refused it, nothing happened and the round may try again; while some
	// have not answered, wait, since they may yet refuse too. Once one took
	// it (or one never answered), a later proposer may finish it.
	if len(ph.ok) == 0 && len(ph.silent) == 0 {
		if len(ph.refused) == len(r.asked) {
			ph.over = true
			return Step{Do: Retry, Why: Preempted}
		}
		return Step{}
	}
	ph.over = true
	r.done = true
	return Step{Do: Fail, Why: Unknown, Code: net.CodeUnknownOutcome, Text: fmt.Sprintf(
		"%s on node %d: ballot %v was accepted by %v of %v and refused by %v; it may still be chosen",
		r.req.Kind, r.by.ID, r.ballot, ph.ok, r.groups, ph.refused)}
}

// peeked decides what a peek leads to, once it can: the newest committed
// version, or a full round.
func (r *Round) peeked() Step {
	switch r.result() {
	case quorum.Won:
		r.ph.over = true
		newest, inProgress := survey(r.ph.promises)
		saw := &Survey{By: r.ph.ok, Newest: newest, InProgress: inProgress.Ballot}
		var s Step
		switch {
		case !newest.Stamp.Less(inProgress.Ballot):
			s = r.answer(newest)
		case r.by.ReadUncommitted:
			s = r.answer(store.RegisterAt(inProgress.Value, false, inProgress.Ballot))
		default:
			s = r.fallBack(FallBackInProgress)
		}
		s.Saw = saw
		return s
	case quorum.Lost:
		// Refusals (a stale ring) or silence: a full round copes with
		// both, with retries and backoff.
		r.ph.over = true
		return r.fallBack(FallBackSilent)
	}
	return Step{}
}

// fallBack hands a serial read to a full round.
func (r *Round) fallBack(why Why) Step {
	r.groups, r.asked = nil, nil
	return Step{Do: Attempt, Why: why}
}

// GiveUp ends a round whose deadline came before the client's value was
// accepted anywhere: it certainly did not take effect.
func (r *Round) GiveUp() Step {
	r.done = true
	if r.refused {
		return Step{Do: Fail, Why: Contention, Code: net.CodeContention, Text: fmt.Sprintf(
			"%s on node %d: %d ballot(s) refused by competing proposers within %v; nothing was written",
			r.req.Kind, r.by.ID, r.attempts, r.by.Timeout)}
	}
	return Step{Do: Fail, Why: Unavailable, Code: net.CodeUnavailable, Text: fmt.Sprintf(
		"%s on node %d: no ballot of %d won a quorum of replicas within %v; nothing was written",
		r.req.Kind, r.by.ID, r.attempts, r.by.Timeout)}
}
