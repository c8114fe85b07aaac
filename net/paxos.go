package net

import (
	"encoding/binary"

	"github.com/memdb/memdb/clock"
)

// Compare-and-set and the Paxos messages behind it (kinds 14 and 65–70).
// Every Paxos round is about one key, among that key's replicas; a ballot
// is a Lamport timestamp, unique because the node id breaks ties and a
// node never reuses a counter. Layouts are drawn in doc.go.

// CAS asks a node to write New under Key if the key's current value is Old
// (OldFound true), or if the key is absent (OldFound false, Old empty). It
// is linearizable, through Paxos, and answered with Bool: true if it
// swapped. An Error with CodeContention means it did not take effect;
// CodeUnknownOutcome means it may have.
type CAS struct {
	Key      []byte
	OldFound bool
	Old      []byte
	New      []byte
}

// Prepare is Paxos phase 1 for Key at Ballot. It is answered with Promise.
type Prepare struct {
	Epoch  uint64
	Ballot clock.Timestamp
	Key    []byte
}

// Promise answers Prepare. OK false refuses the ballot: Promised is the
// higher one the acceptor holds (its promise, or the stamp of the value it
// holds, whichever is later). OK true promises: Accepted and Value are the
// proposal the acceptor accepted and has not seen committed (zero if none),
// and Current is the key's committed version at the acceptor — the read
// rides on the prepare.
type Promise struct {
	OK       bool
	Promised clock.Timestamp
	Accepted clock.Timestamp
	Value    []byte
	// Current is the acceptor's version of the key: Found false with a
	// nonzero Version is a tombstone.
	Found   bool
	Version clock.Timestamp
	Current []byte
}

// Propose is Paxos phase 2: accept Value for Key at Ballot. It is answered
// with Accepted. A proposal is committed with Replicate, stamped with its
// ballot.
type Propose struct {
	Epoch  uint64
	Ballot clock.Timestamp
	Key    []byte
	Value  []byte
}

// Accepted answers Propose: OK, or refused because the acceptor has
// promised (or holds a value stamped) Promised, which is later. A refusal
// also carries Accepted, the latest ballot the acceptor has accepted or
// holds a committed value of: if it is not below the proposal's ballot, the
// acceptor may have accepted that very proposal earlier (the refusal
// answers a duplicate), so the refusal does not show it was never taken.
type Accepted struct {
	OK       bool
	Promised clock.Timestamp
	Accepted clock.Timestamp
}

// Peek asks an acceptor for its state of Key without promising anything:
// the read-only path of a serial read. It is answered with AcceptorState.
// Serving it changes nothing at the acceptor and writes nothing to its log.
type Peek struct {
	Epoch uint64
	Key   []byte
}

// AcceptorState answers Peek with what a Promise would carry, and nothing
// promised: Accepted and Value are the proposal the acceptor accepted and
// has not seen committed (zero if none), and Found, Version and Current
// its committed version of the key (Found false with a nonzero Version is
// a tombstone). It may describe state the acceptor has not yet made
// durable; a reader must only draw conclusions that such state cannot
// falsify (node/paxos.go says which).
type AcceptorState struct {
	Accepted clock.Timestamp
	Value    []byte
	Found    bool
	Version  clock.Timestamp
	Current  []byte
}

func (*CAS) Kind() Kind           { return KindCAS }
func (*Prepare) Kind() Kind       { return KindPrepare }
func (*Promise) Kind() Kind       { return KindPromise }
func (*Propose) Kind() Kind       { return KindPropose }
func (*Accepted) Kind() Kind      { return KindAccepted }
func (*Peek) Kind() Kind          { return KindPeek }
func (*AcceptorState) Kind() Kind { return KindAcceptorState }

func (m *CAS) appendBody(b []byte) []byte {
	b = appendKey(b, m.Key)
	b = appendBool(b, m.OldFound)
	b = appendBytes(b, m.Old)
	return appendBytes(b, m.New)
}

func (m *CAS) decodeBody(d *decoder) {
	m.Key = d.key()
	m.OldFound = d.bool("old found")
	m.Old = d.value()
	m.New = d.value()
	if d.err == nil && !m.OldFound && len(m.Old) != 0 {
		d.fail("a cas on absence has %d old value bytes", len(m.Old))
	}
}

func (m *Prepare) appendBody(b []byte) []byte {
	b = binary.BigEndian.AppendUint64(b, m.Epoch)
	b = appendTimestamp(b, m.Ballot)
	return appendKey(b, m.Key)
}

func (m *Prepare) decodeBody(d *decoder) {
	m.Epoch = d.u64("epoch")
	m.Ballot = d.ballot()
	m.Key = d.key()
}

func (m *Promise) appendBody(b []byte) []byte {
	b = appendBool(b, m.OK)
	b = appendTimestamp(b, m.Promised)
	b = appendTimestamp(b, m.Accepted)
	b = appendBytes(b, m.Value)
	b = appendBool(b, m.Found)
	b = appendTimestamp(b, m.Version)
	return appendBytes(b, m.Current)
}

func (m *Promise) decodeBody(d *decoder) {
	m.OK = d.bool("ok")
	m.Promised = d.timestamp("promised")
	m.Accepted = d.timestamp("accepted")
	m.Value = d.value()
	m.Found = d.bool("found")
	m.Version = d.timestamp("version")
	m.Current = d.value()
	switch {
	case d.err != nil:
	case m.Accepted.IsZero() && len(m.Value) != 0:
		d.fail("a promise with no accepted ballot has %d accepted value bytes", len(m.Value))
	case !m.Found && len(m.Current) != 0:
		d.fail("a promise for an absent key has %d value bytes", len(m.Current))
	}
}

func (m *Propose) appendBody(b []byte) []byte {
	b = binary.BigEndian.AppendUint64(b, m.Epoch)
	b = appendTimestamp(b, m.Ballot)
	b = appendKey(b, m.Key)
	return appendBytes(b, m.Value)
}

func (m *Propose) decodeBody(d *decoder) {
	m.Epoch = d.u64("epoch")
	m.Ballot = d.ballot()
	m.Key = d.key()
	m.Value = d.value()
}

func (m *Accepted) appendBody(b []byte) []byte {
	return appendTimestamp(appendTimestamp(appendBool(b, m.OK), m.Promised), m.Accepted)
}

func (m *Accepted) decodeBody(d *decoder) {
	m.OK = d.bool("ok")
	m.Promised = d.timestamp("promised")
	m.Accepted = d.timestamp("accepted")
}

func (m *Peek) appendBody(b []byte) []byte {
	return appendKey(binary.BigEndian.AppendUint64(b, m.Epoch), m.Key)
}

func (m *Peek) decodeBody(d *decoder) {
	m.Epoch = d.u64("epoch")
	m.Key = d.key()
}

func (m *AcceptorState) appendBody(b []byte) []byte {
	b = appendTimestamp(b, m.Accepted)
	b = appendBytes(b, m.Value)
	b = appendBool(b, m.Found)
	b = appendTimestamp(b, m.Version)
	return appendBytes(b, m.Current)
}

func (m *AcceptorState) decodeBody(d *decoder) {
	m.Accepted = d.timestamp("accepted")
	m.Value = d.value()
	m.Found = d.bool("found")
	m.Version = d.timestamp("version")
	m.Current = d.value()
	switch {
	case d.err != nil:
	case m.Accepted.IsZero() && len(m.Value) != 0:
		d.fail("an acceptor state with no accepted ballot has %d accepted value bytes", len(m.Value))
	case !m.Found && len(m.Current) != 0:
		d.fail("an acceptor state for an absent key has %d value bytes", len(m.Current))
	}
}

// ballot reads a ballot, which is never zero.
func (d *decoder) ballot() clock.Timestamp {
	t := d.timestamp("ballot")
	if d.err == nil && t.IsZero() {
		d.fail("a zero ballot")
	}
	return t
}
