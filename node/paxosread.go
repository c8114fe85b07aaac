package node

import (
	"github.com/memdb/memdb/net"
	"github.com/memdb/memdb/node/quorum"
	"github.com/memdb/memdb/node/store"
)

// The read-only path of a serial read, and why it is linearizable: see
// the package doc.

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
