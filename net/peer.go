package net

import (
	"encoding/binary"

	"github.com/memdb/memdb/clock"
)

// Peer messages: what nodes send each other (kinds 60–74), and the ring a
// client asks any node for (Ring, answered by RingInfo). Their layouts are
// drawn in doc.go.

// Entry is one stamped state of a key as it travels between nodes: a
// value, a tombstone if Deleted (then Value is empty), or a counter's slots
// if Counter (Value holds them in node/store's encoding).
type Entry struct {
	Key     []byte
	Value   []byte
	Deleted bool
	Counter bool
	// Intents says Value is a register's state with batch intents, in
	// node/store's encoding; Stamp is then the latest write in it.
	Intents bool
	Stamp   clock.Timestamp
}

// An entry's state byte: what kind of state its value holds.
const (
	stateValue     = 0
	stateTombstone = 1
	stateCounter   = 2
	stateIntents   = 3
)

// Size is what e counts for against a byte bound (a hint queue, a stream
// batch, the bytes streamed): its key and value, and 16 bytes for its
// stamp and framing.
func (e Entry) Size() int { return len(e.Key) + len(e.Value) + 16 }

// Gossip carries one membership-protocol message. Its payload is encoded
// and decoded by node/gossip, which owns that format; here it is bytes.
type Gossip struct {
	Payload []byte
}

// Replicate asks a replica to apply entries by last-writer-wins and make
// them durable. With a nonzero frame id the replica answers Done once they
// are (or Error); with id 0 it is a push that wants no answer (read repair).
// Epoch is the sender's ring epoch: a receiver on an older ring learns that
// its view is stale.
//
// Carry says what the entries are to their sender, which decides what a
// replica that drops tombstones does with a register's value stamped at or
// below its tombstone floor for a key it holds nothing of (a tombstone
// above the value may have been dropped there: node/grave.go).
type Replicate struct {
	Epoch   uint64
	Entries []Entry
	Carry   Carry
}

// Carry is what a Replicate's entries are to their sender. It travels only
// if not CarryState (the layout before it), which a node that drops no
// tombstones sends for everything.
type Carry uint8

const (
	// CarryState is state the sender holds and hands over (a leaving
	// node's push): taken whatever its stamps, as a stream's is.
	CarryState Carry = iota
	// CarryWrite is a client's write its coordinator has just stamped (or
	// sends again): refused with CodeStaleStamp if stale, and the
	// coordinator stamps it again.
	CarryWrite
	// CarryCopy is a copy of a write made earlier — a hint, a read's
	// repair, a commit or a resolution written behind: a stale entry is
	// left out, as the tombstone that outranked it would have covered it,
	// and the rest taken.
	CarryCopy
)

// Read asks a replica for its version of Key. It is answered with Value:
// Found false with a nonzero Version is a tombstone.
type Read struct {
	Epoch uint64
	Key   []byte
}

// Mark says how far a node has the writes of one origin: every write that
// origin stamped with a counter up to Counter has reached it, as far as it
// knows. The counters an origin stamps only grow, so a mark is exact per
// origin where one maximum over all origins is not.
type Mark struct {
	Origin  uint16
	Counter uint64
}

// Span is an arc of the ring (Start, End], as node/ring.Range; Start == End
// is the whole ring.
type Span struct {
	Start, End uint64
}

// Sync asks a peer for the entries it holds in Spans that the asker has not
// got according to Marks: every entry stamped by an origin after its mark,
// and every entry of an origin with no mark. Entries come in key order after
// After (empty: from the first key), up to about Limit bytes per answer.
// It is answered with SyncBatch. Catch-up after a restart, streaming ranges
// to a new node and taking ranges from a leaving one are all this request.
type Sync struct {
	Epoch uint64
	Spans []Span
	Marks []Mark
	After []byte
	Limit uint32
}

// SyncBatch answers Sync: entries in key order; More says that Next should
// be asked for after them.
type SyncBatch struct {
	Entries []Entry
	More    bool
	Next    []byte
}

// Ring asks a node for the ring it knows, so that a client can send each
// request to a replica of its key. It is answered with RingInfo.
type Ring struct{}

// NodeAddr is where a node listens.
type NodeAddr struct {
	Node uint16
	Addr string
}

// RingInfo answers Ring: the replication factor, the ring in node/ring's
// encoding, and the address of every member.
type RingInfo struct {
	Replicas uint8
	Ring     []byte
	Addrs    []NodeAddr
}

func (*Gossip) Kind() Kind    { return KindGossip }
func (*Replicate) Kind() Kind { return KindReplicate }
func (*Read) Kind() Kind      { return KindRead }
func (*Sync) Kind() Kind      { return KindSync }
func (*SyncBatch) Kind() Kind { return KindSyncBatch }
func (*Ring) Kind() Kind      { return KindRing }
func (*RingInfo) Kind() Kind  { return KindRingInfo }

// maxAddr bounds an address string.
const maxAddr = 255

func appendEntry(b []byte, e Entry) []byte {
	b = appendKey(b, e.Key)
	switch {
	case e.Counter:
		b = append(b, stateCounter)
	case e.Intents:
		b = append(b, stateIntents)
	case e.Deleted:
		b = append(b, stateTombstone)
	default:
		b = append(b, stateValue)
	}
	b = appendTimestamp(b, e.Stamp)
	return appendBytes(b, e.Value)
}

func (d *decoder) entry() Entry {
	var e Entry
	e.Key = d.key()
	switch st := d.u8("state"); st {
	case stateValue:
	case stateTombstone:
		e.Deleted = true
	case stateCounter:
		e.Counter = true
	case stateIntents:
		e.Intents = true
	default:
		d.fail("entry state %d is not 0 (value), 1 (tombstone), 2 (counter) or 3 (intents)", st)
	}
	e.Stamp = d.timestamp("stamp")
	e.Value = d.value()
	if d.err == nil && e.Deleted && len(e.Value) != 0 {
		d.fail("a tombstone has %d value bytes", len(e.Value))
	}
	if d.err == nil && e.Stamp.IsZero() {
		d.fail("an entry has no stamp")
	}
	return e
}

// count reads a u32 element count and checks that each element could take
// at least min bytes of what is left, so a forged count cannot make the
// decoder allocate more than the frame holds.
func (d *decoder) count(min int, what string) int {
	n := d.u32(what)
	// In 64 bits: n*min overflows an int where int is 32 bits.
	if d.err == nil && uint64(n)*uint64(min) > uint64(len(d.buf)) {
		d.fail("%s %d cannot fit in %d bytes", what, n, len(d.buf))
		return 0
	}
	return int(n)
}

func appendEntries(b []byte, es []Entry) []byte {
	b = binary.BigEndian.AppendUint32(b, uint32(len(es)))
	for _, e := range es {
		b = appendEntry(b, e)
	}
	return b
}

func (d *decoder) entries() []Entry {
	n := d.count(2+1+1+10+4, "entry count")
	if n == 0 {
		return nil
	}
	es := make([]Entry, 0, n)
	for range n {
		if d.err != nil {
			return nil
		}
		es = append(es, d.entry())
	}
	return es
}

// optKey reads a key that may be empty (a cursor).
func (d *decoder) optKey(what string) []byte {
	n := int(d.u16(what + " length"))
	if n == 0 {
		return nil
	}
	return d.take(n, what)
}

func appendOptKey(b, key []byte) []byte {
	if len(key) == 0 {
		return binary.BigEndian.AppendUint16(b, 0)
	}
	return appendKey(b, key)
}

func (m *Gossip) appendBody(b []byte) []byte { return appendBytes(b, m.Payload) }
func (m *Gossip) decodeBody(d *decoder)      { m.Payload = d.value() }

func (m *Replicate) appendBody(b []byte) []byte {
	b = appendEntries(binary.BigEndian.AppendUint64(b, m.Epoch), m.Entries)
	if m.Carry != CarryState {
		b = append(b, byte(m.Carry))
	}
	return b
}

func (m *Replicate) decodeBody(d *decoder) {
	m.Epoch = d.u64("epoch")
	m.Entries = d.entries()
	if d.err == nil && len(d.buf) > 0 {
		m.Carry = Carry(d.u8("carry"))
		if m.Carry == CarryState || m.Carry > CarryCopy {
			d.fail("replicate carry %d is not 1 or 2", m.Carry)
		}
	}
}

func (m *Read) appendBody(b []byte) []byte {
	return appendKey(binary.BigEndian.AppendUint64(b, m.Epoch), m.Key)
}

func (m *Read) decodeBody(d *decoder) { m.Epoch = d.u64("epoch"); m.Key = d.key() }

func (m *Sync) appendBody(b []byte) []byte {
	b = binary.BigEndian.AppendUint64(b, m.Epoch)
	b = appendSpans(b, m.Spans)
	b = binary.BigEndian.AppendUint32(b, uint32(len(m.Marks)))
	for _, k := range m.Marks {
		b = binary.BigEndian.AppendUint16(b, k.Origin)
		b = binary.BigEndian.AppendUint64(b, k.Counter)
	}
	b = appendOptKey(b, m.After)
	return binary.BigEndian.AppendUint32(b, m.Limit)
}

func (m *Sync) decodeBody(d *decoder) {
	m.Epoch = d.u64("epoch")
	m.Spans = d.spans()
	if n := d.count(10, "mark count"); n > 0 {
		m.Marks = make([]Mark, n)
		for i := range m.Marks {
			m.Marks[i] = Mark{Origin: d.u16("mark origin"), Counter: d.u64("mark counter")}
		}
	}
	m.After = d.optKey("after")
	m.Limit = d.u32("limit")
}

// appendSpans writes a span count, then each span's start and end.
func appendSpans(b []byte, ss []Span) []byte {
	b = binary.BigEndian.AppendUint32(b, uint32(len(ss)))
	for _, s := range ss {
		b = binary.BigEndian.AppendUint64(b, s.Start)
		b = binary.BigEndian.AppendUint64(b, s.End)
	}
	return b
}

// spans reads what appendSpans writes.
func (d *decoder) spans() []Span {
	n := d.count(16, "span count")
	if n == 0 {
		return nil
	}
	ss := make([]Span, n)
	for i := range ss {
		ss[i] = Span{Start: d.u64("span start"), End: d.u64("span end")}
	}
	return ss
}

func (m *SyncBatch) appendBody(b []byte) []byte {
	b = appendEntries(b, m.Entries)
	b = appendBool(b, m.More)
	return appendOptKey(b, m.Next)
}

func (m *SyncBatch) decodeBody(d *decoder) {
	m.Entries = d.entries()
	m.More = d.bool("more")
	m.Next = d.optKey("next")
}

func (m *Ring) appendBody(b []byte) []byte { return b }
func (m *Ring) decodeBody(d *decoder)      {}

func (m *RingInfo) appendBody(b []byte) []byte {
	b = append(b, m.Replicas)
	b = appendBytes(b, m.Ring)
	b = binary.BigEndian.AppendUint32(b, uint32(len(m.Addrs)))
	for _, a := range m.Addrs {
		b = binary.BigEndian.AppendUint16(b, a.Node)
		addr := a.Addr
		if len(addr) > maxAddr {
			addr = addr[:maxAddr]
		}
		b = append(b, byte(len(addr)))
		b = append(b, addr...)
	}
	return b
}

func (m *RingInfo) decodeBody(d *decoder) {
	m.Replicas = d.u8("replicas")
	m.Ring = d.value()
	if n := d.count(3, "address count"); n > 0 {
		m.Addrs = make([]NodeAddr, n)
		for i := range m.Addrs {
			m.Addrs[i].Node = d.u16("node")
			m.Addrs[i].Addr = string(d.take(int(d.u8("address length")), "address"))
		}
	}
}
