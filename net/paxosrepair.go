package net

import "encoding/binary"

// Paxos repair (node/paxosrepair.go): before a range movement completes,
// the moving node asks every owner of the arcs that change hands which keys
// there have a Paxos proposal in progress, and finishes each. Layouts are
// drawn in doc.go.

// PaxosKeys asks a peer for the keys in Spans on which its acceptor holds
// an accepted proposal newer than its committed version. Epoch is the
// asker's ring epoch: a peer on another ring refuses.
type PaxosKeys struct {
	Epoch uint64
	Spans []Span
}

// PaxosKeysReply answers PaxosKeys with those keys, in key order.
type PaxosKeysReply struct {
	Keys [][]byte
}

func (*PaxosKeys) Kind() Kind      { return KindPaxosKeys }
func (*PaxosKeysReply) Kind() Kind { return KindPaxosKeysReply }

func (m *PaxosKeys) appendBody(b []byte) []byte {
	return appendSpans(binary.BigEndian.AppendUint64(b, m.Epoch), m.Spans)
}

func (m *PaxosKeys) decodeBody(d *decoder) {
	m.Epoch = d.u64("epoch")
	m.Spans = d.spans()
}

func (m *PaxosKeysReply) appendBody(b []byte) []byte {
	b = binary.BigEndian.AppendUint32(b, uint32(len(m.Keys)))
	for _, k := range m.Keys {
		b = appendKey(b, k)
	}
	return b
}

func (m *PaxosKeysReply) decodeBody(d *decoder) {
	if n := d.count(3, "key count"); n > 0 {
		m.Keys = make([][]byte, n)
		for i := range m.Keys {
			m.Keys[i] = d.key()
		}
	}
}
