package node

import (
	"time"

	"github.com/memdb/memdb/clock"
	"github.com/memdb/memdb/net"
	"github.com/memdb/memdb/node/oplog"
	"github.com/memdb/memdb/node/paxos"
	"github.com/memdb/memdb/node/paxos/repair"
	"github.com/memdb/memdb/node/ring"
	"github.com/memdb/memdb/node/store"
	"github.com/memdb/memdb/node/stream"
)

// The node's side of the Paxos acceptor (node/paxos holds the table and
// its rules): it feeds the table each key's committed stamp from the
// store, makes what the table returns durable (persist) and then answers.

// promise handles a prepare for key at ballot b, from a peer or from this
// node as proposer, and calls answer with the promise or refusal once any
// promise made is durable. A broken log answers nothing.
func (n *Node) promise(key []byte, b clock.Timestamp, answer func(*net.Promise)) {
	n.lamport.Observe(b)
	if n.unsettled(key, func() { n.promise(key, b, answer) }) {
		return
	}
	recs, floor, ok := n.acceptors.Promise(key, n.committed(key), b)
	if !ok {
		answer(&net.Promise{Promised: floor})
		return
	}
	n.persist(recs, func() { answer(n.promiseOf(key)) })
}

// committed is the stamp of key's version in the store: the ballot that
// chose it, or the plain write that moved the key on (zero if none).
func (n *Node) committed(key []byte) clock.Timestamp {
	cur, _ := n.store.Get(key)
	return cur.Stamp
}

// promiseOf is the promise an acceptor answers with: its state of key.
func (n *Node) promiseOf(key []byte) *net.Promise {
	s := n.stateOf(key)
	return &net.Promise{OK: true, Accepted: s.Accepted, Value: s.Value, Found: s.Found, Version: s.Version, Current: s.Current}
}

// stateOf is the acceptor's state of key as a Promise or a Peek reports
// it: its committed version of key, and its accepted proposal if that is
// newer (an older one is settled, whatever the acceptor still remembers).
func (n *Node) stateOf(key []byte) *net.AcceptorState {
	cur, _ := n.store.Get(key)
	s := &net.AcceptorState{}
	s.Found, s.Version, s.Current = store.AcceptorState(cur)
	s.Accepted, s.Value = n.acceptors.InProgress(key, cur.Stamp)
	return s
}

// peek handles a Peek of key, from a peer or from this node as proposer:
// the acceptor's state, with nothing promised, nothing logged and no wait.
// The state may include what a crash could still take back: an acceptance
// whose sync is in flight only ever makes a reader fall back to a full
// round, and a version in the store was chosen, whether or not this
// replica keeps it (the acceptances that chose it are durable elsewhere;
// the package doc's "Paxos: serial reads without a ballot" rests on those). A broken node answers
// nothing, as it would a Prepare.
func (n *Node) peek(key []byte, answer func(*net.AcceptorState)) {
	if n.err != nil || n.log == nil || n.unsettled(key, func() { n.peek(key, answer) }) {
		return
	}
	answer(n.stateOf(key))
}

// unsettled reports whether this replica holds batch intents of key
// that wait for a decision; if so it looks their records up, applies here
// what each became (node/batch.go), and then runs again, so that an
// acceptor's state shows a committed batch whose resolution has not
// reached it: a serial read is read-atomic as a quorum read is. An intent
// whose record is undecided is left as it is (the batch is not
// committed); if a record cannot be read, the request is not answered at
// all (found by review: answering the settled state could fracture a
// serial read, as a quorum read that cannot read a record fails).
func (n *Node) unsettled(key []byte, again func()) bool {
	k := string(key)
	if n.passing[k] {
		return false // its intents were just looked up for this request
	}
	if waiting, ok := n.settling[k]; ok {
		n.settling[k] = append(waiting, again)
		return true
	}
	v, _ := n.store.Get(key)
	intents := v.Undecided()
	if len(intents) == 0 {
		return false
	}
	n.settling[k] = []func(){again}
	left := len(intents)
	var unreadable bool
	next := func() {
		if left--; left > 0 {
			return
		}
		waiting := n.settling[k]
		delete(n.settling, k)
		if unreadable {
			return // a record could not be read: answer nothing (the round counts this acceptor silent)
		}
		n.passing[k] = true
		for _, f := range waiting {
			f()
		}
		delete(n.passing, k)
	}
	for _, i := range intents {
		n.lookupBatch(i.Token, func(o store.Outcome, t clock.Timestamp, err error) {
			d, ok := n.decide(i, o, t)
			if err != nil {
				unreadable = true
			}
			if err != nil || !ok {
				next()
				return
			}
			n.applyEntries([]net.Entry{store.Entry(key, d)}, func(error) { next() })
		})
	}
	return true
}

// accept handles a proposal of value for key at ballot b, and calls answer
// once an acceptance is durable.
func (n *Node) accept(key []byte, b clock.Timestamp, value []byte, answer func(*net.Accepted)) {
	n.lamport.Observe(b)
	v, recs, no := n.acceptors.Accept(key, n.committed(key), b, value)
	switch v {
	case paxos.Committed:
		answer(&net.Accepted{OK: true})
	case paxos.Refused:
		answer(&net.Accepted{Promised: no.Promised, Accepted: no.Accepted})
	default:
		n.probeIf(v == paxos.Duplicate, ProbeAcceptDuplicate)
		n.persist(recs, func() { answer(&net.Accepted{OK: true}) })
	}
}

// persist appends recs and calls done once they (and everything appended
// before them) are durable, whatever the fsync mode. If the log fails the
// node breaks and done is never called: an acceptor that cannot make its
// state durable must not answer.
func (n *Node) persist(recs []oplog.Record, done func()) {
	if n.err != nil || n.log == nil {
		return
	}
	if len(recs) > 0 {
		if err := n.log.Append(recs...); err != nil {
			n.broke(err)
			return
		}
	}
	n.log.Sync(func(err error) {
		if err != nil {
			n.broke(err)
			return
		}
		done()
	})
}

// settleAcceptor forgets key's acceptor state once the stored version
// subsumes it. Every path that applies a version to the store calls it,
// so it reads the store only if some key has acceptor state: most of the
// time none does (a boot's replay of millions of keys, for one).
func (n *Node) settleAcceptor(key []byte) {
	if n.acceptors.Len() > 0 {
		n.acceptors.Settle(key, n.committed(key))
	}
}

// replayAcceptor restores acceptor state from a log record at boot.
func (n *Node) replayAcceptor(r oplog.Record) {
	if r.Type == oplog.TypePromise && n.mutant(MutantForgetPromise) {
		return
	}
	n.acceptors.Replay(r, n.committed(r.Key))
}

// prepareFrom serves a peer's Prepare.
func (n *Node) prepareFrom(from uint16, id uint64, m *net.Prepare) {
	if n.fenced(from, id, m.Epoch) {
		return
	}
	n.promise(m.Key, m.Ballot, func(p *net.Promise) { n.send(from, id, p) })
}

// proposeFrom serves a peer's Propose.
func (n *Node) proposeFrom(from uint16, id uint64, m *net.Propose) {
	if n.fenced(from, id, m.Epoch) {
		return
	}
	n.accept(m.Key, m.Ballot, m.Value, func(a *net.Accepted) { n.send(from, id, a) })
}

// peekFrom serves a peer's Peek.
func (n *Node) peekFrom(from uint16, id uint64, m *net.Peek) {
	if n.fenced(from, id, m.Epoch) {
		return
	}
	n.peek(m.Key, func(s *net.AcceptorState) { n.send(from, id, s) })
}

// AcceptorInfo is one key's Paxos acceptor state as the node holds it in
// memory: the ballot it promised, the proposal it accepted (zero if none)
// and that proposal's value. Keys whose state the stored version subsumes
// have none.
type AcceptorInfo struct {
	Key string
	paxos.State
}

// Acceptors returns the node's live acceptor state, in key order, for
// tests and debugging (node/nodetest prints it). Callers must not modify
// the values.
func (n *Node) Acceptors() []AcceptorInfo {
	keys := n.acceptors.Keys()
	out := make([]AcceptorInfo, 0, len(keys))
	for _, k := range keys {
		a, _ := n.acceptors.Get([]byte(k))
		out = append(out, AcceptorInfo{Key: k, State: a})
	}
	return out
}

// Paxos repair: node/paxos/repair runs it (its Driver, n.repairs), and
// node/movement's doc has the design. The node's side is its acceptor
// table, which it lists and serves, and its rounds.

// repairer is the node as its repair.Driver sees it.
type repairer struct{ n *Node }

var _ repair.Node = repairer{}

func (r repairer) Epoch() uint64 { return r.n.view.Epoch }
func (r repairer) AskAgain(peer uint16, m net.Message, accepted func(net.Message) bool, done func(net.Message)) {
	r.n.askAgain(peer, m, accepted, done)
}
func (r repairer) Send(peer uint16, id uint64, m net.Message)     { r.n.send(peer, id, m) }
func (r repairer) Later(d time.Duration, f func())                { r.n.later(d, f) }
func (r repairer) Stopped() bool                                  { return r.n.stopped }
func (r repairer) InProgress(spans []net.Span, all bool) [][]byte { return r.n.inProgress(spans, all) }
func (r repairer) Repaired()                                      { r.n.stats.PaxosRepaired++ }
func (r repairer) Acceptor(key []byte) net.Acceptor {
	a, _ := r.n.acceptors.Get(key)
	return net.Acceptor{Promised: a.Promised, Accepted: a.Accepted, Value: a.Value}
}

// Round runs a serial read of key as a full round (never the peek): its
// prepare finds a proposal in progress at any quorum and finishes it.
func (r repairer) Round(key []byte, done func(net.Message)) {
	r.n.coordinatePaxos(internalConn, r.n.await(done), paxos.Request{Kind: paxos.Read, Key: key}, true)
}

// inProgress lists, in key order, the keys in spans on which this node's
// acceptor holds an accepted proposal newer than the committed version —
// or, if all, any state at all (a promise above it, too).
func (n *Node) inProgress(spans []net.Span, all bool) [][]byte {
	var out [][]byte
	for _, k := range n.acceptors.Keys() {
		key := []byte(k)
		if !stream.Contains(spans, ring.Hash(key)) {
			continue
		}
		if s := n.stateOf(key); all || !s.Accepted.IsZero() {
			out = append(out, key)
		}
	}
	return out
}

// paxosKeysFrom answers a peer's PaxosKeys, unless the peer is on another
// ring.
func (n *Node) paxosKeysFrom(from uint16, id uint64, m *net.PaxosKeys) {
	if n.otherRing(from, id, m.Epoch) {
		return
	}
	n.repairs.ServeKeys(from, id, m)
}
