package store

import (
	"encoding/binary"
	"fmt"

	"github.com/memdb/memdb/clock"
	"github.com/memdb/memdb/net"
	"github.com/memdb/memdb/node/oplog"
)

// How each kind of value is encoded where it leaves the store: in entries
// between nodes, in log records, and in the answer to a read. Every such
// crossing goes through these functions, which with kind.go make a kind
// one definition (the package doc has the list of paths).
//
// Registers take the encodings they had before kinds: an entry's state
// byte is its tombstone flag (0 a value, 1 a tombstone; other values are
// free for other kinds), and a register is a TypeSet or TypeDelete record.

//
// A counter is an entry with state byte 2 and a TypeCounter record, both
// holding the slots' encoding (counter.go), and a State answer to a
// peer's read; a client reads it only through GetCounter.
//
// A register with batch intents is an entry with state byte 3 and a
// TypeIntents record, both holding intent.go's encoding, and a State
// answer to a peer's read; a client reads only its settled value.

// mustKnow panics if v is of a kind this node cannot encode: a kind
// without an encoding here is a bug, not input (the decoders refuse
// unknown encodings).
func mustKnow(v Version) {
	if v.Kind != Register && v.Kind != Counter {
		panic(fmt.Sprintf("store: no encoding of value kind %v", v.Kind))
	}
}

// Entry is the entry that carries key's state v to another node.
func Entry(key []byte, v Version) net.Entry {
	mustKnow(v)
	if len(v.Intents()) > 0 {
		return net.Entry{Key: key, Value: encodeIntents(v), Intents: true, Stamp: v.Latest()}
	}
	return net.Entry{Key: key, Value: v.Value, Deleted: v.Deleted, Counter: v.Kind == Counter, Stamp: v.Stamp}
}

// FromEntry is the state entry e carries. An entry from another node is
// checked first (CheckEntry): one with intents that does not decode is
// the empty state here.
func FromEntry(e net.Entry) Version {
	switch {
	case e.Counter:
		return Version{Kind: Counter, Value: e.Value, Stamp: e.Stamp}
	case e.Intents:
		v, _ := decodeIntents(e.Value)
		return v
	}
	return Version{Kind: Register, Value: e.Value, Deleted: e.Deleted, Stamp: e.Stamp}
}

// CheckEntry reports whether e carries a state this node can merge: the
// codec has checked a register's; a counter's slots must decode, with the
// stamp they give it, and a register's intents must decode, with the
// latest write in them as the stamp.
func CheckEntry(e net.Entry) error {
	switch {
	case e.Counter:
		return ValidCounter(FromEntry(e))
	case e.Intents:
		v, err := decodeIntents(e.Value)
		if err == nil && v.Latest() != e.Stamp {
			err = fmt.Errorf("%w: the entry's stamp %v is not the latest write in it, %v", ErrIntents, e.Stamp, v.Latest())
		}
		return err
	}
	return nil
}

// Record is the log record that restores key's state v. Its origin and
// sequence are the stamp's node and counter: the counters one node stamps
// only grow, so they are that origin's sequence, and the log's per-origin
// maximum (which compaction keeps) is exactly what catch-up asks peers to
// go past.
func Record(key []byte, v Version) oplog.Record {
	return TaggedRecord(key, v, nil)
}

// TaggedRecord is Record with tag, bytes of the node's own that replay
// gives back with the state (RecordTag): a counter's leader logs the
// increment's operation id with its slot, in one record, so the two are
// durable together or not at all. Only counters carry a tag.
func TaggedRecord(key []byte, v Version, tag []byte) oplog.Record {
	mustKnow(v)
	if len(v.Intents()) > 0 {
		if len(tag) > 0 {
			panic("store: a register's record carries no tag")
		}
		t := v.Latest()
		return oplog.Record{Type: oplog.TypeIntents, Key: key, Value: encodeIntents(v), Stamp: t, Origin: t.Node, Seq: t.Counter}
	}
	if v.Kind == Counter {
		val := binary.AppendUvarint(make([]byte, 0, 2+len(tag)+len(v.Value)), uint64(len(tag)))
		val = append(append(val, tag...), v.Value...)
		return oplog.Record{Type: oplog.TypeCounter, Key: key, Value: val, Stamp: v.Stamp, Origin: v.Stamp.Node, Seq: v.Stamp.Counter}
	}
	if len(tag) > 0 {
		panic("store: a register's record carries no tag")
	}
	r := oplog.Record{Type: oplog.TypeSet, Key: key, Value: v.Value, Stamp: v.Stamp, Origin: v.Stamp.Node, Seq: v.Stamp.Counter}
	if v.Deleted {
		r.Type, r.Value = oplog.TypeDelete, nil
	}
	return r
}

// FromRecord is the state a TypeSet, TypeDelete, TypeCounter or
// TypeIntents record restores, and the tag it was logged with; an error
// if a counter's or intents' record bytes do not decode (a corrupt log).
func FromRecord(r oplog.Record) (v Version, tag []byte, err error) {
	if r.Type == oplog.TypeIntents {
		v, err := decodeIntents(r.Value)
		return v, nil, err
	}
	if r.Type != oplog.TypeCounter {
		return Version{Kind: Register, Value: r.Value, Stamp: r.Stamp, Deleted: r.Type == oplog.TypeDelete}, nil, nil
	}
	n, k := binary.Uvarint(r.Value)
	if k <= 0 || n > uint64(len(r.Value)-k) {
		return Version{}, nil, fmt.Errorf("%w: a counter record's tag length", ErrCounter)
	}
	tag = r.Value[k : k+int(n)]
	v = Version{Kind: Counter, Value: r.Value[k+int(n):], Stamp: r.Stamp}
	if err := ValidCounter(v); err != nil {
		return Version{}, nil, err
	}
	return v, tag, nil
}

// ReadAnswer is what a client's read of state v answers: a Bool for
// contains, else a Value (Found false with a nonzero Version is a
// tombstone); a get of a counter is the wrong kind.
func ReadAnswer(v Version, contains bool) net.Message {
	mustKnow(v)
	switch {
	case contains:
		return &net.Bool{Value: v.Live()}
	case v.Kind == Counter:
		return &net.Error{Code: net.CodeWrongKind, Message: "the key holds a counter: read it with counter, not get"}
	case v.Live():
		return &net.Value{Found: true, Version: v.Stamp, Value: v.Value}
	default:
		return &net.Value{Version: v.Stamp}
	}
}

// CounterAnswer is what a client's counter read of state v answers: the
// counter's value (0 if the key has nothing or a tombstone), or the wrong
// kind for a value.
func CounterAnswer(v Version) net.Message {
	if v.Kind != Counter && v.Live() {
		return &net.Error{Code: net.CodeWrongKind, Message: "the key holds a value, not a counter: read it with get"}
	}
	if v.Kind != Counter {
		return &net.CounterValue{}
	}
	c, err := CounterValue(v)
	if err != nil {
		return &net.Error{Code: net.CodeInternal, Message: err.Error()}
	}
	return &net.CounterValue{Value: c}
}

// PeerAnswer is what a replica answers a peer's Read with: a Value for a
// register (Found false with a nonzero Version is a tombstone), a State for
// a counter.
func PeerAnswer(key []byte, v Version) net.Message {
	mustKnow(v)
	switch {
	case v.Kind == Counter || len(v.Intents()) > 0:
		return &net.State{Entry: Entry(key, v)}
	case v.Live():
		return &net.Value{Found: true, Version: v.Stamp, Value: v.Value}
	default:
		return &net.Value{Version: v.Stamp}
	}
}

// FromAnswer is the state a replica's answer to Read reports: a Value or
// a State; an error if it is neither or a State does not decode.
func FromAnswer(m net.Message) (Version, error) {
	switch m := m.(type) {
	case *net.Value:
		if !m.Found {
			return Version{Kind: Register, Stamp: m.Version, Deleted: true}, nil
		}
		return Version{Kind: Register, Value: m.Value, Stamp: m.Version}, nil
	case *net.State:
		if err := CheckEntry(m.Entry); err != nil {
			return Version{}, err
		}
		return FromEntry(m.Entry), nil
	}
	return Version{}, fmt.Errorf("a %v does not answer a read", m.Kind())
}

// RegisterAt is a register's state: value written at stamp t, or a
// tombstone if deleted.
func RegisterAt(value []byte, deleted bool, t clock.Timestamp) Version {
	return Version{Kind: Register, Value: value, Deleted: deleted, Stamp: t}
}

// AcceptorState is how a Paxos acceptor reports its committed state v of a
// key (in a Promise or an AcceptorState): whether the key holds a value,
// the stamp of the state, and the value.
//
// A counter has no state a Paxos round can compare or replace: it reports
// found with no value (a coordinator refuses serial requests on a counter
// it holds; one it does not hold is the mixing of kinds the contract
// rules out).
func AcceptorState(v Version) (found bool, stamp clock.Timestamp, current []byte) {
	mustKnow(v)
	if v.Kind == Counter {
		return true, v.Stamp, nil
	}
	if !v.Live() {
		return false, v.Stamp, nil
	}
	return true, v.Stamp, v.Value
}

// FromAcceptorState is the committed state an acceptor reported.
func FromAcceptorState(found bool, stamp clock.Timestamp, current []byte) Version {
	if !found {
		return Version{Kind: Register, Stamp: stamp, Deleted: true}
	}
	return Version{Kind: Register, Value: current, Stamp: stamp}
}
