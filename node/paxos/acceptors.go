package paxos

import (
	"fmt"
	"maps"
	"slices"

	"github.com/memdb/memdb/clock"
	"github.com/memdb/memdb/node/oplog"
)

// State is one key's acceptor state: the highest ballot promised, and the
// proposal accepted last (Accepted zero if none).
type State struct {
	Promised clock.Timestamp
	Accepted clock.Timestamp
	Value    []byte
}

// Acceptors is a node's acceptor table: the state of every key with a
// round in flight. Every method that changes it returns the log records
// that make the change durable; the caller must append them and have them
// synced before it answers the message that caused them (see the package
// doc). committed is always the stamp of the key's version in the store
// (zero if none): the ballot that chose it, or the plain write that moved
// the key on.
type Acceptors struct {
	m map[string]*State
	// Below is a floor under every key: the stamp of the latest tombstone
	// the node dropped, or after a restart of a node that drops them, the
	// clock its log restarts it at. A dropped tombstone takes its key's
	// committed stamp with it, and a ballot below that stamp must still be
	// refused: a proposer that drew it before the delete would otherwise
	// choose a value the delete had already put behind it.
	Below clock.Timestamp
}

// NewAcceptors returns an empty table.
func NewAcceptors() *Acceptors { return &Acceptors{m: make(map[string]*State)} }

// Len is the number of keys with state.
func (t *Acceptors) Len() int { return len(t.m) }

// Keys is every key with state, in order.
func (t *Acceptors) Keys() []string { return slices.Sorted(maps.Keys(t.m)) }

// Get returns key's state; ok is false if it has none.
func (t *Acceptors) Get(key []byte) (s State, ok bool) {
	a := t.m[string(key)]
	if a == nil {
		return State{}, false
	}
	return *a, true
}

// Floor is the ballot a new prepare or proposal for key must be above:
// the highest of the promise, the committed stamp and Below.
func (t *Acceptors) Floor(key []byte, committed clock.Timestamp) clock.Timestamp {
	floor := committed.Max(t.Below)
	if a := t.m[string(key)]; a != nil {
		return floor.Max(a.Promised)
	}
	return floor
}

// InProgress is key's accepted proposal if it is newer than the committed
// version (zero if none): a proposal that may have been chosen and not yet
// committed here. An older one is settled, whatever the table remembers.
func (t *Acceptors) InProgress(key []byte, committed clock.Timestamp) (ballot clock.Timestamp, value []byte) {
	if a := t.m[string(key)]; a != nil && committed.Less(a.Accepted) {
		return a.Accepted, a.Value
	}
	return clock.Timestamp{}, nil
}

// entry returns key's state, creating it empty.
func (t *Acceptors) entry(key []byte) *State {
	a := t.m[string(key)]
	if a == nil {
		a = &State{}
		t.m[string(key)] = a
	}
	return a
}

// Promise handles a prepare for key at ballot b. A ballot below the floor,
// or at the committed stamp, is refused (ok false) and floor says what
// the proposer must beat. A repeated prepare at the promised ballot (the
// network duplicated it) gets the same promise. A promise answers with
// the key's state once recs are durable — not as it was when the prepare
// came: a commit logged just before it (its fsync shared with this one)
// has reached the store by then, and a proposal reported as in progress
// after its commit would make every proposer finish it again, and again
// (PAPER bug 15).
func (t *Acceptors) Promise(key []byte, committed, b clock.Timestamp) (recs []oplog.Record, floor clock.Timestamp, ok bool) {
	floor = t.Floor(key, committed)
	if b.Less(floor) || b == committed {
		return nil, floor, false
	}
	a := t.entry(key)
	if a.Promised.Less(b) {
		a.Promised = b
		recs = append(recs, oplog.Record{Type: oplog.TypePromise, Key: key, Stamp: b})
	}
	return recs, floor, true
}

// Verdict is what an acceptor answers a proposal.
type Verdict uint8

const (
	// Refused: the ballot is below the floor.
	Refused Verdict = iota
	// Took: the acceptor accepts the proposal once its record is durable.
	Took
	// Duplicate: the acceptor already took this proposal; it answers
	// accepted again once everything logged before is durable (the first
	// acceptance may still be syncing). Refusing it — it may have promised
	// a higher ballot since — would tell the proposer its value was never
	// accepted here (PAPER bug 13).
	Duplicate
	// Committed: the key is already committed at this ballot (a
	// duplicate, or a late proposal of a value someone finished):
	// accepting changes nothing, and it answers at once.
	Committed
)

func (v Verdict) String() string {
	if int(v) < len(verdicts) {
		return verdicts[v]
	}
	return fmt.Sprintf("verdict(%d)", uint8(v))
}

var verdicts = [...]string{"refused", "took", "duplicate", "committed"}

// Refusal is what a refused proposal answers: the floor, and the latest
// ballot this acceptor accepted or committed — a refusal that does not
// show the proposal was never taken here counts, for the proposer, as
// silence, never as a definite no.
type Refusal struct {
	Promised, Accepted clock.Timestamp
}

// Accept handles a proposal of value for key at ballot b. With Took, the
// caller makes recs durable and then answers accepted.
func (t *Acceptors) Accept(key []byte, committed, b clock.Timestamp, value []byte) (v Verdict, recs []oplog.Record, no Refusal) {
	a := t.m[string(key)]
	floor := t.Floor(key, committed)
	switch {
	case b == committed:
		return Committed, nil, no
	case a != nil && a.Accepted == b:
		return Duplicate, nil, no
	case b.Less(floor):
		no = Refusal{Promised: floor, Accepted: committed}
		if a != nil {
			no.Accepted = no.Accepted.Max(a.Accepted)
		}
		return Refused, nil, no
	}
	a = t.entry(key)
	a.Promised, a.Accepted, a.Value = b, b, slices.Clone(value)
	return Took, []oplog.Record{{Type: oplog.TypeAccept, Key: key, Value: value, Stamp: b}}, no
}

// Settle forgets key's state once the committed version subsumes it (its
// promise and proposal both at or below committed), so only keys with a
// round in flight cost memory. Every path that applies a version to the
// store calls it.
func (t *Acceptors) Settle(key []byte, committed clock.Timestamp) {
	a := t.m[string(key)]
	if a != nil && !committed.Less(a.Promised) && !committed.Less(a.Accepted) {
		delete(t.m, string(key))
	}
}

// Forget drops key's state, whatever it is (a collected batch record's:
// node/batchgc.go).
func (t *Acceptors) Forget(key []byte) { delete(t.m, string(key)) }

// Replay restores state from a TypePromise or TypeAccept record at boot.
func (t *Acceptors) Replay(r oplog.Record, committed clock.Timestamp) {
	a := t.entry(r.Key)
	a.Promised = a.Promised.Max(r.Stamp)
	if r.Type == oplog.TypeAccept && a.Accepted.Less(r.Stamp) {
		a.Accepted, a.Value = r.Stamp, r.Value
	}
	t.Settle(r.Key, committed)
}

// TakeOver raises key's state to at least s — the highest promise and the
// highest accepted proposal — as a node rebuilding lost state does with
// its peers' states, and returns the records of what rose.
func (t *Acceptors) TakeOver(key []byte, s State, committed clock.Timestamp) []oplog.Record {
	var recs []oplog.Record
	a := t.entry(key)
	if a.Accepted.Less(s.Accepted) {
		a.Accepted, a.Value = s.Accepted, s.Value
		recs = append(recs, oplog.Record{Type: oplog.TypeAccept, Key: key, Value: s.Value, Stamp: s.Accepted})
	}
	if a.Promised.Less(s.Promised) {
		a.Promised = s.Promised
		recs = append(recs, oplog.Record{Type: oplog.TypePromise, Key: key, Stamp: s.Promised})
	}
	t.Settle(key, committed)
	return recs
}

// Records yields the records that restore every key's state, in key
// order, for compaction; it stops early if yield does, and reports
// whether it finished.
func (t *Acceptors) Records(yield func(oplog.Record) bool) bool {
	for _, k := range t.Keys() {
		a := t.m[k]
		if !a.Accepted.IsZero() && !yield(oplog.Record{Type: oplog.TypeAccept, Key: []byte(k), Value: a.Value, Stamp: a.Accepted}) {
			return false
		}
		if a.Accepted.Less(a.Promised) && !yield(oplog.Record{Type: oplog.TypePromise, Key: []byte(k), Stamp: a.Promised}) {
			return false
		}
	}
	return true
}
