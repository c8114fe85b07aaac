package net

import (
	"encoding/binary"

	"github.com/memdb/memdb/clock"
)

// Anti-entropy (node/stream.go): a node asks a replica that shares some
// arcs of the ring with it for a digest of its versions in each, and pulls
// the arcs whose digests differ. Layouts are drawn in doc.go.

// Digest asks a peer for a digest of the versions it holds in each span.
// Epoch is the asker's ring epoch: a peer on another ring has other arcs,
// so it refuses.
type Digest struct {
	Epoch uint64
	Spans []Span
}

// DigestReply answers Digest with one digest per span, in the same order:
// a sum, over the keys the peer holds in the span, of a hash of the key
// and its version (stamp, tombstone flag and value). Equal digests mean
// the same versions, up to a hash collision.
type DigestReply struct {
	Sums []uint64
}

// DigestBefore is Digest over the versions stamped at or before Horizon
// only: the asker leaves out the writes still in flight (stamped since a
// moment ago), so that replication lag does not count as a difference. A
// key whose version is newer than Horizon adds nothing to its span's sum.
// It is answered with DigestReply.
//
// Expired, if not zero, also leaves out every plain tombstone (a register's
// tombstone with no batch intents) stamped at or before it: tombstones the
// asker's tombstone rule may drop (node/grave.go), so that a replica that
// dropped one and a replica that still holds it compare equal. It is sent
// only by a node that drops tombstones, after its horizon; a body without
// it (the layout before it) means zero.
//
// Records, if not zero, also leaves out every batch record (a value of a
// record key) and every aborted batch's marker (in a key's state) at or
// before it, by counter: what the asker's collector may drop
// (node/batchgc.go). It is sent only by a node that collects them,
// after Expired (zero if the node drops no tombstones); a body without it
// means zero.
type DigestBefore struct {
	Epoch   uint64
	Spans   []Span
	Horizon clock.Timestamp
	Expired clock.Timestamp
	Records clock.Timestamp
}

func (*Digest) Kind() Kind       { return KindDigest }
func (*DigestReply) Kind() Kind  { return KindDigestReply }
func (*DigestBefore) Kind() Kind { return KindDigestBefore }

func (m *DigestBefore) appendBody(b []byte) []byte {
	b = binary.BigEndian.AppendUint64(b, m.Epoch)
	b = appendSpans(b, m.Spans)
	b = appendTimestamp(b, m.Horizon)
	if !m.Expired.IsZero() || !m.Records.IsZero() {
		b = appendTimestamp(b, m.Expired)
	}
	if !m.Records.IsZero() {
		b = appendTimestamp(b, m.Records)
	}
	return b
}

func (m *DigestBefore) decodeBody(d *decoder) {
	m.Epoch = d.u64("epoch")
	m.Spans = d.spans()
	m.Horizon = d.timestamp("horizon")
	if d.err == nil && len(d.buf) > 0 {
		m.Expired = d.timestamp("expired")
	}
	if d.err == nil && len(d.buf) > 0 {
		m.Records = d.timestamp("records")
	}
}

func (m *Digest) appendBody(b []byte) []byte {
	b = binary.BigEndian.AppendUint64(b, m.Epoch)
	return appendSpans(b, m.Spans)
}

func (m *Digest) decodeBody(d *decoder) {
	m.Epoch = d.u64("epoch")
	m.Spans = d.spans()
}

func (m *DigestReply) appendBody(b []byte) []byte {
	b = binary.BigEndian.AppendUint32(b, uint32(len(m.Sums)))
	for _, s := range m.Sums {
		b = binary.BigEndian.AppendUint64(b, s)
	}
	return b
}

func (m *DigestReply) decodeBody(d *decoder) {
	if n := d.count(8, "digest count"); n > 0 {
		m.Sums = make([]uint64, n)
		for i := range m.Sums {
			m.Sums[i] = d.u64("digest")
		}
	}
}
