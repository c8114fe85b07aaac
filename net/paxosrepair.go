package net

import (
	"encoding/binary"

	"github.com/memdb/memdb/clock"
)

// Paxos repair (node/paxosrepair.go): before a range movement completes,
// the moving node asks every owner of the arcs that change hands which keys
// there have a Paxos proposal in progress, and finishes each. A node that
// rebuilds lost state (node/rebuild.go) asks instead for every key's whole
// acceptor state, and takes it over. Layouts are drawn in doc.go.

// PaxosKeys asks a peer for the keys in Spans on which its acceptor holds
// an accepted proposal newer than its committed version — or, if States,
// for every key on which its acceptor holds any state, with that state —
// that sort after After (all of them if After is empty). Epoch is the
// asker's ring epoch: a peer on another ring refuses.
type PaxosKeys struct {
	Epoch  uint64
	Spans  []Span
	States bool
	After  []byte
}

// PaxosKeysReply answers PaxosKeys with those keys, in key order, and, if
// asked, States: the acceptor state of each, in the same order. A reply
// holds a page of them; More says others follow the last key (ask again
// with it as After).
type PaxosKeysReply struct {
	Keys   [][]byte
	States []Acceptor
	More   bool
}

// Acceptor is one key's Paxos acceptor state: the ballot it promised and
// the proposal it accepted (zero ballot and no value if none).
type Acceptor struct {
	Promised clock.Timestamp
	Accepted clock.Timestamp
	Value    []byte
}

func (*PaxosKeys) Kind() Kind      { return KindPaxosKeys }
func (*PaxosKeysReply) Kind() Kind { return KindPaxosKeysReply }

func (m *PaxosKeys) appendBody(b []byte) []byte {
	b = appendSpans(binary.BigEndian.AppendUint64(b, m.Epoch), m.Spans)
	b = appendBool(b, m.States)
	return appendBytes(b, m.After)
}

func (m *PaxosKeys) decodeBody(d *decoder) {
	m.Epoch = d.u64("epoch")
	m.Spans = d.spans()
	m.States = d.bool("states")
	m.After = d.value()
	if d.err == nil && len(m.After) > MaxKey {
		d.fail("after key of %d bytes, over MaxKey", len(m.After))
	}
}

func (m *PaxosKeysReply) appendBody(b []byte) []byte {
	b = binary.BigEndian.AppendUint32(b, uint32(len(m.Keys)))
	for _, k := range m.Keys {
		b = appendKey(b, k)
	}
	b = appendBool(b, m.States != nil)
	for _, s := range m.States {
		b = appendTimestamp(b, s.Promised)
		b = appendTimestamp(b, s.Accepted)
		b = appendBytes(b, s.Value)
	}
	return appendBool(b, m.More)
}

func (m *PaxosKeysReply) decodeBody(d *decoder) {
	if n := d.count(3, "key count"); n > 0 {
		m.Keys = make([][]byte, n)
		for i := range m.Keys {
			m.Keys[i] = d.key()
		}
	}
	if d.bool("states") {
		m.States = make([]Acceptor, len(m.Keys))
		for i := range m.States {
			s := &m.States[i]
			s.Promised = d.timestamp("promised ballot")
			s.Accepted = d.timestamp("accepted ballot")
			s.Value = d.value()
			if d.err == nil && s.Accepted.IsZero() && len(s.Value) != 0 {
				d.fail("key %d: an accepted value of %d bytes without a ballot", i, len(s.Value))
			}
		}
	}
	m.More = d.bool("more")
	if d.err == nil && m.More && len(m.Keys) == 0 {
		d.fail("a page with no key says more follow")
	}
}
