package node

import (
	"slices"

	"github.com/memdb/memdb/clock"
	"github.com/memdb/memdb/net"
	"github.com/memdb/memdb/node/oplog"
)

// The Paxos acceptor, one instance per key (DESIGN §4). Its state is a
// promise and an accepted proposal; the key's committed value is simply the
// key's version in the store, stamped with the ballot that chose it. So:
//
//   - The acceptor refuses any ballot at or below its floor: the higher of
//     its promise and the stamp of the version it holds. A version stamped s
//     means a proposal at s was chosen (or, if plain writes were mixed in,
//     that the key moved on), so a ballot below s is stale either way.
//   - An accepted proposal is "in progress" only while its ballot is above
//     the stored version's stamp. A commit — or the same value arriving by
//     read repair, a hint or streaming — settles it.
//   - State that the stored version subsumes (promise and proposal both at
//     or below its stamp) is forgotten, so only keys with a round in flight
//     cost memory.
//
// Every change is appended to the log and synced before the acceptor
// answers, whatever the fsync mode: a promise or an acceptance that a
// crash could take back breaks Paxos. Compaction keeps live acceptor state.
//
// Dropping a tombstone (not done yet) would lower a key's floor; the rule
// for that must keep the floor, or keep acceptor state, for Paxos keys.
type acceptor struct {
	promised clock.Timestamp
	accepted clock.Timestamp // zero if none
	value    []byte
}

// acceptorFloor returns key's acceptor state (nil if none) and the ballot a
// new prepare or proposal must not be below.
func (n *Node) acceptorFloor(key []byte) (*acceptor, clock.Timestamp) {
	cur, _ := n.store.Get(key)
	a := n.acceptors[string(key)]
	if a == nil {
		return nil, cur.Stamp
	}
	return a, cur.Stamp.Max(a.promised)
}

// promise handles a prepare for key at ballot b, from a peer or from this
// node as proposer, and calls answer with the promise or refusal once any
// promise made is durable. A broken log answers nothing.
func (n *Node) promise(key []byte, b clock.Timestamp, answer func(*net.Promise)) {
	n.lamport.Observe(b)
	cur, _ := n.store.Get(key)
	a, floor := n.acceptorFloor(key)
	// A repeated prepare at the promised ballot (the network duplicated it)
	// gets the same promise; anything below, or at the stored version's
	// stamp, is refused.
	if b.Less(floor) || b == cur.Stamp {
		answer(&net.Promise{Promised: floor})
		return
	}
	if a == nil {
		a = &acceptor{}
		n.acceptors[string(key)] = a
	}
	var recs []oplog.Record
	if a.promised.Less(b) {
		a.promised = b
		recs = append(recs, oplog.Record{Type: oplog.TypePromise, Key: key, Stamp: b})
	}
	// The promise reports the state once it is durable, not as it was when
	// the prepare came: a commit logged just before it (its fsync shared
	// with this one) has reached the store by then, and a proposal reported
	// as in progress after its commit would make every proposer finish it
	// again, and again.
	n.persist(recs, func() { answer(n.promiseOf(key)) })
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
	s := &net.AcceptorState{Found: cur.Live(), Version: cur.Stamp}
	if cur.Live() {
		s.Current = cur.Value
	}
	if a := n.acceptors[string(key)]; a != nil && cur.Stamp.Less(a.accepted) {
		s.Accepted, s.Value = a.accepted, a.value
	}
	return s
}

// peek handles a Peek of key, from a peer or from this node as proposer:
// the acceptor's state, with nothing promised, nothing logged and no wait.
// The state may include what a crash could still take back: an acceptance
// whose sync is in flight only ever makes a reader fall back to a full
// round, and a version in the store was chosen, whether or not this
// replica keeps it (the acceptances that chose it are durable elsewhere;
// paxos.go's read-only argument rests on those). A broken node answers
// nothing, as it would a Prepare.
func (n *Node) peek(key []byte, answer func(*net.AcceptorState)) {
	if n.err != nil || n.log == nil {
		return
	}
	answer(n.stateOf(key))
}

// accept handles a proposal of value for key at ballot b, and calls answer
// once an acceptance is durable.
func (n *Node) accept(key []byte, b clock.Timestamp, value []byte, answer func(*net.Accepted)) {
	n.lamport.Observe(b)
	cur, _ := n.store.Get(key)
	a, floor := n.acceptorFloor(key)
	switch {
	case b == cur.Stamp:
		// Already committed at this ballot (a duplicate, or a late proposal
		// of a value someone finished): accepting changes nothing.
		answer(&net.Accepted{OK: true})
		return
	case a != nil && a.accepted == b:
		// A duplicate of a proposal this acceptor took: the same answer,
		// even if it has promised a higher ballot since. Refusing it now
		// would tell the proposer its value was never accepted here.
		n.probe(ProbeAcceptDuplicate)
		n.persist(nil, func() { answer(&net.Accepted{OK: true}) })
		return
	case b.Less(floor):
		refusal := &net.Accepted{Promised: floor, Accepted: cur.Stamp}
		if a != nil {
			refusal.Accepted = refusal.Accepted.Max(a.accepted)
		}
		answer(refusal)
		return
	}
	if a == nil {
		a = &acceptor{}
		n.acceptors[string(key)] = a
	}
	a.promised, a.accepted, a.value = b, b, slices.Clone(value)
	n.persist([]oplog.Record{{Type: oplog.TypeAccept, Key: key, Value: value, Stamp: b}}, func() {
		answer(&net.Accepted{OK: true})
	})
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
// subsumes it. Every path that applies a version to the store calls it.
func (n *Node) settleAcceptor(key []byte) {
	a := n.acceptors[string(key)]
	if a == nil {
		return
	}
	cur, _ := n.store.Get(key)
	if !cur.Stamp.Less(a.promised) && !cur.Stamp.Less(a.accepted) {
		delete(n.acceptors, string(key))
	}
}

// replayAcceptor restores acceptor state from a log record at boot.
func (n *Node) replayAcceptor(r oplog.Record) {
	if r.Type == oplog.TypePromise && n.mutant(MutantForgetPromise) {
		return
	}
	a := n.acceptors[string(r.Key)]
	if a == nil {
		a = &acceptor{}
		n.acceptors[string(r.Key)] = a
	}
	a.promised = a.promised.Max(r.Stamp)
	if r.Type == oplog.TypeAccept && a.accepted.Less(r.Stamp) {
		a.accepted, a.value = r.Stamp, r.Value
	}
	n.settleAcceptor(r.Key)
}

// acceptorRecords yields the records that restore every live acceptor, in
// key order, for compaction.
func (n *Node) acceptorRecords(yield func(oplog.Record) bool) bool {
	keys := make([]string, 0, len(n.acceptors))
	for k := range n.acceptors {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		a := n.acceptors[k]
		if !a.accepted.IsZero() && !yield(oplog.Record{Type: oplog.TypeAccept, Key: []byte(k), Value: a.value, Stamp: a.accepted}) {
			return false
		}
		if a.accepted.Less(a.promised) && !yield(oplog.Record{Type: oplog.TypePromise, Key: []byte(k), Stamp: a.promised}) {
			return false
		}
	}
	return true
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
