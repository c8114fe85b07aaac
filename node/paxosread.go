package node

import (
	"github.com/memdb/memdb/net"
	"github.com/memdb/memdb/node/quorum"
	"github.com/memdb/memdb/node/store"
)

// The read-only path of a serial read (Get or Contains at level serial).
//
// A full round's prepare raises the floor of every acceptor it reaches, so
// a reader polling a key displaces its writers: a CAS between its prepare
// and its propose is refused by a promise a reader made in between (bug 18,
// a lock's holder unable to release it). A read needs no promise unless
// something is in progress, so a serial read first peeks: it sends Peek to
// every replica paxosGroups names (both rings' while a node joins or
// leaves), and with a quorum of answers in every group it looks at what a
// promise would have shown — the newest committed version V (the largest
// stamp among the answers) and the newest proposal in progress P (the
// largest accepted ballot an acceptor has not seen committed). If no P is
// newer than V, the read answers V: one round trip, no ballot, nothing
// logged. Otherwise, or if too few acceptors answer, it falls back to a
// full round (paxos.go), which finishes what is in progress and answers
// with it — exactly today's serial read. The rule is the full round's
// (promised), applied to states that promise nothing.
//
// Why that is linearizable. Facts it rests on, all from paxos.go and
// acceptor.go:
//
//   - C (committed means chosen). A store version of a Paxos key is stamped
//     with the ballot of a chosen proposal: commit runs only after a quorum
//     accepted, and read repair, hints and streaming only copy versions.
//     (Plain writes to a serial key void this; the contract forbids mixing.)
//   - D (an acceptance is never forgotten). An acceptor that accepted ballot
//     b answers, at every later moment, with a committed version ≥ b or an
//     accepted ballot ≥ b. It answered "accepted" only once the accept
//     record was synced; replay restores it, compaction keeps it while it
//     is live, and it is dropped only when the store holds a version ≥ b
//     (settleAcceptor). If a crash takes that version back, the accept
//     record is still in the log and replay restores it — unless a
//     compaction has written the version into its synced base first. A
//     Promise relies on the same.
//   - O (writes in ballot order). The chosen values, in ballot order, are
//     the register's successive values, each taking effect when chosen
//     (PAPER §2, the CAS argument).
//
// Let the read be called at c and return at e, let its answers come at
// times t_i in [c, e], and t₀ = min t_i. The read returns V.
//
//  1. Nothing chosen before t₀ is newer than V. A value chosen at ballot b
//     before t₀ was accepted by a quorum of each group it needed; the
//     peeked quorum of that group shares an acceptor with it, which
//     answered after it accepted b, so by D it showed a version ≥ b (then
//     V ≥ b) or an accepted ballot ≥ b (then V ≥ b, since no answer showed
//     a proposal newer than V). So a value chosen before the read began —
//     even one whose commit reached a single replica, or none — is never
//     missed: where it is not committed, an acceptor shows it in progress
//     and the read falls back and finishes it.
//  2. V was chosen before e: it is committed at the replica that showed it,
//     so chosen (C) before that answer.
//  3. So the read can take effect at max(c, time V was chosen), inside
//     [c, e]: by O and 1 no value newer than V is current then. An
//     accepted but unchosen value is never returned, since only committed
//     versions are (the read-uncommitted mutant returns P instead, and the
//     checkers must see it). A proposal in progress no newer than V is
//     ignored exactly as the full round ignores it; a newer one sends the
//     read to the full round.
//  4. Reads are monotonic. If an earlier read returned W before this one
//     began, W was chosen before it returned (2, or the full round chose
//     it), hence before t₀, and by 1 V ≥ W — even if W's commit reached
//     only the replica the earlier read saw it on. Answers that disagree
//     (a replica behind, one that missed the commit) are why V is the
//     maximum, never a vote: the stragglers' state is older, and anything
//     newer that a quorum accepted shows up as P at one of them.
//
// A peek may show state a crash could still take back (an acceptance whose
// sync is in flight, a version at a replica with fsync=none): the former
// only sends the read to a full round; the latter was chosen (C), and D
// keeps it visible through the acceptors that chose it. Each answer is
// read when it arrives, at one instant, so no ordering among the answers
// is assumed.

// readOnly starts serial read r on the read-only path.
func (n *Node) readOnly(r *round) {
	gs, all := n.paxosGroups(r.key)
	if !n.reachable(r.conn, r.req, r.what.String(), gs, all, net.Quorum) {
		r.done = true
		return
	}
	n.stats.PaxosReadOnly++
	r.groups, r.asked = gs, nil
	for _, id := range all {
		if n.up(id) {
			r.asked = append(r.asked, id)
		}
	}
	n.env.Log.Debug("paxos peek", "key", string(r.key), "asked", r.asked, "groups", gs)
	ph := &phase{}
	n.sendPhase(r, ph, &net.Peek{Epoch: n.view.Epoch, Key: r.key}, func(id uint16, m net.Message) {
		s, ok := m.(*net.AcceptorState)
		if !ok {
			ph.silent = append(ph.silent, id)
			return
		}
		ph.ok = append(ph.ok, id)
		ph.promises = append(ph.promises, promiseFrom{id, &net.Promise{OK: true,
			Accepted: s.Accepted, Value: s.Value, Found: s.Found, Version: s.Version, Current: s.Current}})
	}, func() { n.peeked(r, ph) })
}

// peeked decides what a peek leads to, once it can: the newest committed
// version, or a full round.
func (n *Node) peeked(r *round, ph *phase) {
	switch ph.result(r) {
	case quorum.Won:
		ph.over = true
		newest, inProgress, inValue := survey(ph.promises)
		n.env.Log.Debug("paxos peeked", "key", string(r.key), "by", ph.ok,
			"newest", newest.Stamp.String(), "in_progress", inProgress.String())
		switch {
		case !newest.Stamp.Less(inProgress):
			n.answerPaxosRead(r, newest)
		case n.mutant(MutantReadUncommitted):
			n.answerPaxosRead(r, store.Version{Value: inValue, Stamp: inProgress})
		default:
			n.probe(ProbeReadFallbackInProgress)
			n.fallBack(r)
		}
	case quorum.Lost:
		// Refusals (a stale ring) or silence: a full round copes with
		// both, with retries and backoff.
		ph.over = true
		n.probe(ProbeReadFallbackSilent)
		n.fallBack(r)
	}
}

// fallBack hands serial read r to a full round.
func (n *Node) fallBack(r *round) {
	n.stats.PaxosReadFallbacks++
	r.groups, r.asked = nil, nil
	n.attempt(r)
}
