package net

import "encoding/binary"

// Take is how an operator's removal of a dead member (node/remove.go)
// moves its arcs: the remover asks each member that gains some of them to
// take them from their remaining owners. Layout in doc.go.

// Take asks a peer to take Spans, arcs it replicates on the ring without
// a removed member, from From, their remaining owners: stream them from
// one, then compare them with every other and pull what differs. Epoch is
// the asker's ring epoch: a peer on another ring refuses. Answered with
// Done once the peer holds them, or Error.
type Take struct {
	Epoch uint64
	Spans []Span
	From  []uint16
}

func (*Take) Kind() Kind { return KindTake }

func (m *Take) appendBody(b []byte) []byte {
	b = appendSpans(binary.BigEndian.AppendUint64(b, m.Epoch), m.Spans)
	b = binary.BigEndian.AppendUint16(b, uint16(len(m.From)))
	for _, id := range m.From {
		b = binary.BigEndian.AppendUint16(b, id)
	}
	return b
}

func (m *Take) decodeBody(d *decoder) {
	m.Epoch = d.u64("epoch")
	m.Spans = d.spans()
	n := int(d.u16("owner count"))
	if d.err == nil && n == 0 {
		d.fail("take names no owner to take from")
	}
	for i := 0; i < n && d.err == nil; i++ {
		id := d.u16("owner")
		if d.err == nil && id == 0 {
			d.fail("owner %d of take is node 0", i)
		}
		m.From = append(m.From, id)
	}
}
