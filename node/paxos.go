package node

import (
	"bytes"
	"slices"
	"time"

	"github.com/memdb/memdb/clock"
	"github.com/memdb/memdb/net"
	"github.com/memdb/memdb/node/quorum"
	"github.com/memdb/memdb/node/store"
)

// round is one client request run as Paxos rounds: see the package doc
// (Paxos: the proposer).
type round struct {
	conn     net.ConnID
	req      uint64
	what     roundKind
	key      []byte
	contains bool   // a read answers with Bool
	full     bool   // a read that must run a full round, never the peek (paxosrepair.go)
	oldFound bool   // cas: the key must hold old (or be absent if false)
	old      []byte // cas
	value    []byte // cas: the new value; put: the value
	deadline time.Time
	attempts int
	refused  bool            // some attempt was refused by a higher ballot
	highest  clock.Timestamp // the highest ballot a refusal named
	// chosen is the last proposal of another this round finished: it is
	// committed, whatever promises that arrive before its commit say.
	chosen      clock.Timestamp
	chosenValue []byte
	done        bool
	// The current attempt.
	ballot clock.Timestamp
	groups quorum.Joint
	asked  []uint16
	phase  *phase
}

type roundKind uint8

const (
	casRound roundKind = iota + 1
	readRound
	putRound
)

func (k roundKind) String() string {
	switch k {
	case casRound:
		return "cas"
	case readRound:
		return "serial read"
	}
	return "serial put"
}

// A phase is one prepare, propose or peek sent to every replica of a round.
type phase struct {
	propose  bool
	ours     bool // propose: the value is the client's own, not one being finished
	value    []byte
	ok       []uint16
	refused  []uint16
	silent   []uint16 // did not answer in time, or refused without showing it never accepted
	promises []promiseFrom
	over     bool
}

type promiseFrom struct {
	from uint16
	p    *net.Promise
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

// coordinatePaxos starts round r for a client request.
func (n *Node) coordinatePaxos(r *round) {
	if n.err != nil {
		n.fail(r.conn, r.req, net.CodeUnavailable, "node %d cannot run Paxos until it restarts: %v", n.cfg.ID, n.err)
		return
	}
	r.deadline = n.env.Clock.Now().Add(n.cfg.RequestTimeout)
	n.stats.PaxosRequests++
	if r.what == readRound && !r.full {
		n.readOnly(r) // paxosread.go: a full round only if it must
		return
	}
	n.attempt(r)
}

// attempt starts one prepare at a new ballot.
func (n *Node) attempt(r *round) {
	if r.done {
		return
	}
	if !n.env.Clock.Now().Before(r.deadline) {
		n.giveUp(r)
		return
	}
	gs, all := n.paxosGroups(r.key)
	if !n.reachable(r.conn, r.req, r.what.String(), gs, all, net.Quorum) {
		r.done = true
		return
	}
	n.stamp(func(t clock.Timestamp) {
		if t.IsZero() {
			r.done = true
			n.fail(r.conn, r.req, net.CodeUnavailable, "node %d could not reserve a ballot (its log broke): %v", n.cfg.ID, n.err)
			return
		}
		if n.mutant(MutantSharedBallots) {
			t.Node = 0
		}
		r.attempts++
		n.stats.PaxosAttempts++
		r.ballot, r.groups, r.asked = t, gs, nil
		n.probeIf(len(gs) > 1, ProbePaxosTwoRings)
		for _, id := range all {
			if n.up(id) {
				r.asked = append(r.asked, id)
			}
		}
		n.env.Log.Debug("paxos prepare", "what", r.what, "key", string(r.key), "ballot", t.String(), "asked", r.asked, "groups", gs)
		n.prepare(r)
	})
}

// paxosGroups is the replica sets a Paxos round needs a quorum of: both
// rings' while a node joins or leaves (a quorum of the old replicas and one
// of the new), so that a proposal chosen on one side is seen from the
// other.
func (n *Node) paxosGroups(key []byte) ([][]uint16, []uint16) {
	gs, all := n.groups(key)
	if n.mutant(MutantStaleRing) && len(gs) > 1 {
		return gs[:1], gs[0]
	}
	return gs, all
}

// prepare sends the round's Prepare to every replica it asked.
func (n *Node) prepare(r *round) {
	ph := &phase{}
	n.sendPhase(r, ph, &net.Prepare{Epoch: n.view.Epoch, Ballot: r.ballot, Key: r.key}, func(id uint16, m net.Message) {
		p, ok := m.(*net.Promise)
		switch {
		case !ok:
			ph.silent = append(ph.silent, id)
		case p.OK:
			ph.ok = append(ph.ok, id)
			ph.promises = append(ph.promises, promiseFrom{id, p})
		default:
			ph.refused = append(ph.refused, id)
			r.refused = true
		}
	}, func() { n.prepared(r, ph) })
}

// sendPhase sends m to every acceptor round r asked, as phase ph. Each
// answer that still belongs to the phase is counted — an Error as a
// refusal, none in time as silence, a Promise or Accepted by count — and
// then decide runs.
func (n *Node) sendPhase(r *round, ph *phase, m net.Message, count func(id uint16, m net.Message), decide func()) {
	r.phase = ph
	n.stats.PaxosPhases++
	for _, id := range r.asked {
		n.acceptorCall(id, r.deadline, m, func(a net.Message) {
			if r.phase != ph || ph.over {
				return
			}
			switch a := a.(type) {
			case *net.Promise:
				n.lamport.Observe(a.Promised)
				r.highest = r.highest.Max(a.Promised)
				count(id, a)
			case *net.Accepted:
				n.lamport.Observe(a.Promised)
				r.highest = r.highest.Max(a.Promised)
				count(id, a)
			case *net.AcceptorState:
				count(id, a)
			case *net.Error:
				ph.refused = append(ph.refused, id)
			default:
				ph.silent = append(ph.silent, id)
			}
			decide()
		})
	}
}

// prepared decides what a prepare phase leads to, once it can.
func (n *Node) prepared(r *round, ph *phase) {
	switch ph.result(r) {
	case quorum.Won:
		ph.over = true
		n.promised(r, ph)
	case quorum.Lost:
		// Nothing was proposed in this attempt, so trying again is safe.
		ph.over = true
		n.retry(r)
	}
}

// result is phase ph's verdict at quorum over round r's groups: a refusal
// and silence both count as no.
func (ph *phase) result(r *round) quorum.Result {
	return r.groups.Result(net.Quorum, r.asked, ph.ok, append(slices.Clip(ph.refused), ph.silent...))
}

// survey returns the newest committed version the promises (or peeked
// states) show, and the newest proposal in progress among them: the
// proposal with the highest ballot that some acceptor accepted and has not
// seen committed (zero if none).
func survey(ps []promiseFrom) (newest store.Version, inProgress clock.Timestamp, inValue []byte) {
	for _, pf := range ps {
		p := pf.p
		if newest.Stamp.Less(p.Version) {
			newest = store.Version{Value: p.Current, Stamp: p.Version, Deleted: !p.Found}
		}
		if inProgress.Less(p.Accepted) {
			inProgress, inValue = p.Accepted, p.Value
		}
	}
	return newest, inProgress, inValue
}

// promised acts on a quorum of promises.
func (n *Node) promised(r *round, ph *phase) {
	newest, inProgress, inValue := survey(ph.promises)
	if newest.Stamp.Less(r.chosen) {
		newest = store.Version{Value: r.chosenValue, Stamp: r.chosen}
	}
	n.env.Log.Debug("paxos promised", "key", string(r.key), "ballot", r.ballot.String(), "by", ph.ok,
		"newest", newest.Stamp.String(), "in_progress", inProgress.String())
	if newest.Stamp.Less(inProgress) && !n.mutant(MutantIgnoreAccepted) {
		if r.what == readRound && n.mutant(MutantReadUncommitted) {
			n.answerPaxosRead(r, store.Version{Value: inValue, Stamp: inProgress})
			return
		}
		// A proposal that may have been chosen: finish it before anything.
		n.stats.PaxosFinished++
		n.probe(ProbePaxosFinishOther)
		n.propose(r, inValue, false)
		return
	}
	switch r.what {
	case readRound:
		n.answerPaxosRead(r, newest)
	case casRound:
		if newest.Live() != r.oldFound || (r.oldFound && !bytes.Equal(newest.Value, r.old)) {
			r.done = true
			n.stats.PaxosDone++
			n.reply(r.conn, r.req, &net.Bool{Value: false})
			return
		}
		n.propose(r, r.value, true)
	case putRound:
		n.propose(r, r.value, true)
	}
}

func (n *Node) answerPaxosRead(r *round, v store.Version) {
	r.done = true
	n.stats.PaxosDone++
	n.reply(r.conn, r.req, store.ReadAnswer(v, r.contains))
}

// propose sends value at the round's ballot to the replicas that promised
// it and to the rest it asked (an acceptor that missed the prepare may
// still accept).
func (n *Node) propose(r *round, value []byte, ours bool) {
	ph := &phase{propose: true, ours: ours, value: value}
	n.env.Log.Debug("paxos propose", "key", string(r.key), "ballot", r.ballot.String(), "ours", ours, "value", string(value))
	n.sendPhase(r, ph, &net.Propose{Epoch: n.view.Epoch, Ballot: r.ballot, Key: r.key, Value: value}, func(id uint16, m net.Message) {
		a, ok := m.(*net.Accepted)
		switch {
		case !ok:
			ph.silent = append(ph.silent, id)
		case a.OK:
			ph.ok = append(ph.ok, id)
		case !a.Accepted.Less(r.ballot):
			// The acceptor moved past this ballot: it may have accepted
			// this proposal before it did.
			ph.silent = append(ph.silent, id)
			r.refused = true
		default:
			ph.refused = append(ph.refused, id)
			r.refused = true
		}
	}, func() { n.proposed(r, ph) })
}

// proposed decides what a propose phase leads to, once it can.
func (n *Node) proposed(r *round, ph *phase) {
	n.env.Log.Debug("paxos proposal answered", "key", string(r.key), "ballot", r.ballot.String(), "ok", ph.ok, "refused", ph.refused, "silent", ph.silent)
	res := ph.result(r)
	if res == quorum.Won {
		ph.over = true
		n.commit(r.key, ph.value, r.ballot)
		switch {
		case !ph.ours && r.what == readRound:
			n.answerPaxosRead(r, store.Version{Value: ph.value, Stamp: r.ballot})
		case !ph.ours:
			// The finished proposal is committed; now ours.
			r.chosen, r.chosenValue = r.ballot, ph.value
			n.attempt(r)
		default:
			r.done = true
			n.stats.PaxosDone++
			n.probeIf(len(r.groups) > 1, ProbeCASTwoRings)
			if r.what == casRound {
				n.reply(r.conn, r.req, &net.Bool{Value: true})
			} else {
				n.reply(r.conn, r.req, &net.Done{Version: r.ballot})
			}
		}
		return
	}
	if res == quorum.Pending {
		return // a quorum may still accept
	}
	if !ph.ours {
		ph.over = true
		n.retry(r)
		return
	}
	// The client's value cannot be chosen at this ballot. If every acceptor
	// refused it, nothing happened and the round may try again; while some
	// have not answered, wait, since they may yet refuse too. Once one took
	// it (or one never answered), a later proposer may finish it.
	if len(ph.ok) == 0 && len(ph.silent) == 0 {
		if len(ph.refused) == len(r.asked) {
			ph.over = true
			n.probe(ProbePaxosPreempted)
			n.retry(r)
		}
		return
	}
	ph.over = true
	r.done = true
	n.stats.PaxosUnknown++
	n.probeIf(len(ph.ok) > 0, ProbePaxosUnknownMinority)
	n.fail(r.conn, r.req, net.CodeUnknownOutcome, "%s on node %d: ballot %v was accepted by %v of %v and refused by %v; it may still be chosen",
		r.what, n.cfg.ID, r.ballot, ph.ok, r.groups, ph.refused)
}

// retry starts another attempt after a randomized backoff, or gives up at
// the deadline. The next ballot also jumps a random, growing distance past
// the highest one that refused this round: a proposer far from the
// replicas would otherwise lose every race to one next to them, whose
// ballots climb while its prepare is in flight.
func (n *Node) retry(r *round) {
	n.stats.PaxosRetries++
	limit := min(paxosBackoffMax, paxosBackoffBase<<min(r.attempts, 16))
	d := time.Duration(n.env.Rand.Int64N(int64(limit)))
	if !n.env.Clock.Now().Add(d).Before(r.deadline) {
		n.giveUp(r)
		return
	}
	if !r.highest.IsZero() {
		jump := uint64(n.env.Rand.Int64N(int64(paxosJumpBase) << min(r.attempts, paxosJumpDoublings)))
		n.lamport.Observe(clock.Timestamp{Counter: r.highest.Counter + jump})
	}
	n.env.Clock.AfterFunc(d, func() { n.attempt(r) })
}

// giveUp ends a round that reached its deadline without a value of the
// client's accepted anywhere: it certainly did not take effect.
func (n *Node) giveUp(r *round) {
	r.done = true
	if r.refused {
		n.stats.PaxosContention++
		n.probe(ProbePaxosContention)
		n.fail(r.conn, r.req, net.CodeContention, "%s on node %d: %d ballot(s) refused by competing proposers within %v; nothing was written",
			r.what, n.cfg.ID, r.attempts, n.cfg.RequestTimeout)
		return
	}
	n.stats.Unavailable++
	n.fail(r.conn, r.req, net.CodeUnavailable, "%s on node %d: no ballot of %d won a quorum of replicas within %v; nothing was written",
		r.what, n.cfg.ID, r.attempts, n.cfg.RequestTimeout)
}

// commit writes a chosen value to every replica of key, stamped with its
// ballot, in the background: replicas that do not acknowledge get a hint.
func (n *Node) commit(key, value []byte, ballot clock.Timestamp) {
	e := store.Entry(key, store.RegisterAt(value, false, ballot))
	_, all := n.groups(key)
	for _, id := range all {
		switch {
		case id == uint16(n.cfg.ID):
			n.applyEntries([]net.Entry{e}, func(error) {})
		case n.up(id):
			n.ask(id, &net.Replicate{Epoch: n.view.Epoch, Entries: []net.Entry{e}}, n.cfg.RequestTimeout, func(m net.Message) {
				if _, ok := m.(*net.Done); !ok {
					n.hint(id, e)
				}
			})
		default:
			n.hint(id, e)
		}
	}
}

// acceptorCall sends m to acceptor id, or hands it to this node's own
// acceptor, and gives done the answer (nil if none came by deadline).
func (n *Node) acceptorCall(id uint16, deadline time.Time, m net.Message, done func(net.Message)) {
	if id == uint16(n.cfg.ID) {
		if !n.serving() {
			done(&net.Error{Code: net.CodeUnavailable, Message: n.notServing().Error()})
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

// startCAS, startSerialRead and startPaxosPut turn client requests into
// rounds.
func (n *Node) startCAS(c net.ConnID, id uint64, m *net.CAS) {
	n.coordinatePaxos(&round{conn: c, req: id, what: casRound, key: slices.Clone(m.Key), oldFound: m.OldFound,
		old: slices.Clone(m.Old), value: slices.Clone(m.New)})
}

func (n *Node) startSerialRead(c net.ConnID, id uint64, key []byte, contains bool) {
	n.coordinatePaxos(&round{conn: c, req: id, what: readRound, key: slices.Clone(key), contains: contains})
}

func (n *Node) startPaxosPut(c net.ConnID, id uint64, key, value []byte) {
	n.coordinatePaxos(&round{conn: c, req: id, what: putRound, key: slices.Clone(key), value: slices.Clone(value)})
}
