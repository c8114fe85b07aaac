package net

import (
	"encoding/binary"
	"math"

	"github.com/memdb/memdb/clock"
)

// Counter messages: a client's increment and counter read, their answer,
// and State, a peer's answer to Read for a key whose state Value cannot
// carry. Their layouts are drawn in doc.go; what a counter is, is
// node/store's Counter kind.

// Incr adds Delta to the counter Key (a negative Delta subtracts). It is
// answered with CounterValue, the counter's value just after the increment
// at the replica that applied it, or Error.
//
// Session and Seq name the operation: a client draws Session at random once
// and numbers its increments in Seq, and sends every attempt of one call
// with the same pair, so a replica that applied it answers a retry instead
// of applying it again. Attempt is 0 on a call's first send and counts its
// retries; First is the client's session clock when the call began (the
// clock its first attempt carried), the same in every attempt. A client
// sends every attempt of a call to the same node: that node can then judge
// a retry exactly (it applied the operation, or never saw it) as long as
// its table still covers increments of First's age — a node that is not a
// replica of the key forwards every attempt to the one replica it sent the
// first to, which judges them so; otherwise, or elsewhere, a retry it has
// no record of is answered unknown outcome, never applied (node/counter
// has the rule).
type Incr struct {
	Level   Consistency
	Key     []byte
	Delta   int64
	Session uint64
	Seq     uint64
	Attempt uint32
	First   clock.Timestamp
}

// GetCounter reads the counter Key. It is answered with CounterValue (0 for
// a key never incremented) or Error.
type GetCounter struct {
	Level Consistency
	Key   []byte
}

// CounterValue answers Incr and GetCounter.
type CounterValue struct {
	Value int64
}

// State answers a peer's Read with an entry when the key holds a state that
// Value cannot carry (a counter's slots).
type State struct {
	Entry Entry
}

func (*Incr) Kind() Kind         { return KindIncr }
func (*GetCounter) Kind() Kind   { return KindGetCounter }
func (*CounterValue) Kind() Kind { return KindCounterValue }
func (*State) Kind() Kind        { return KindState }

// MaxAttempts bounds Incr's attempt count; a larger one is malformed.
const MaxAttempts = math.MaxUint16

func (m *Incr) appendBody(b []byte) []byte {
	b = appendKey(append(b, byte(m.Level)), m.Key)
	b = binary.BigEndian.AppendUint64(b, uint64(m.Delta))
	b = binary.BigEndian.AppendUint64(b, m.Session)
	b = binary.BigEndian.AppendUint64(b, m.Seq)
	b = binary.BigEndian.AppendUint32(b, m.Attempt)
	return appendTimestamp(b, m.First)
}

func (m *Incr) decodeBody(d *decoder) {
	m.Level = d.level()
	if d.err == nil && m.Level == Serial {
		d.fail("an increment cannot be serial")
	}
	m.Key = d.key()
	m.Delta = int64(d.u64("delta"))
	m.Session = d.u64("session")
	m.Seq = d.u64("seq")
	m.Attempt = d.u32("attempt")
	m.First = d.timestamp("first")
	if d.err == nil && m.Attempt > MaxAttempts {
		d.fail("attempt %d is over %d", m.Attempt, MaxAttempts)
	}
}

func (m *GetCounter) appendBody(b []byte) []byte {
	return appendKey(append(b, byte(m.Level)), m.Key)
}

func (m *GetCounter) decodeBody(d *decoder) {
	m.Level = d.level()
	if d.err == nil && m.Level == Serial {
		d.fail("a counter read cannot be serial")
	}
	m.Key = d.key()
}

func (m *CounterValue) appendBody(b []byte) []byte {
	return binary.BigEndian.AppendUint64(b, uint64(m.Value))
}

func (m *CounterValue) decodeBody(d *decoder) { m.Value = int64(d.u64("value")) }

func (m *State) appendBody(b []byte) []byte { return appendEntry(b, m.Entry) }
func (m *State) decodeBody(d *decoder)      { m.Entry = d.entry() }
