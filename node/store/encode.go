package store

import (
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

// mustRegister panics if v is of a kind this node cannot encode: a kind
// without an encoding here is a bug, not input (the decoders refuse
// unknown encodings).
func mustRegister(v Version) {
	if v.Kind != Register {
		panic(fmt.Sprintf("store: no encoding of value kind %v", v.Kind))
	}
}

// Entry is the entry that carries key's state v to another node.
func Entry(key []byte, v Version) net.Entry {
	mustRegister(v)
	return net.Entry{Key: key, Value: v.Value, Deleted: v.Deleted, Stamp: v.Stamp}
}

// FromEntry is the state entry e carries.
func FromEntry(e net.Entry) Version {
	return Version{Kind: Register, Value: e.Value, Deleted: e.Deleted, Stamp: e.Stamp}
}

// Record is the log record that restores key's state v. Its origin and
// sequence are the stamp's node and counter: the counters one node stamps
// only grow, so they are that origin's sequence, and the log's per-origin
// maximum (which compaction keeps) is exactly what catch-up asks peers to
// go past.
func Record(key []byte, v Version) oplog.Record {
	mustRegister(v)
	r := oplog.Record{Type: oplog.TypeSet, Key: key, Value: v.Value, Stamp: v.Stamp, Origin: v.Stamp.Node, Seq: v.Stamp.Counter}
	if v.Deleted {
		r.Type, r.Value = oplog.TypeDelete, nil
	}
	return r
}

// FromRecord is the state a TypeSet or TypeDelete record restores.
func FromRecord(r oplog.Record) Version {
	return Version{Kind: Register, Value: r.Value, Stamp: r.Stamp, Deleted: r.Type == oplog.TypeDelete}
}

// ReadAnswer is what a read of state v answers: a Bool for contains, else
// a Value (Found false with a nonzero Version is a tombstone).
func ReadAnswer(v Version, contains bool) net.Message {
	mustRegister(v)
	switch {
	case contains:
		return &net.Bool{Value: v.Live()}
	case v.Live():
		return &net.Value{Found: true, Version: v.Stamp, Value: v.Value}
	default:
		return &net.Value{Version: v.Stamp}
	}
}

// FromAnswer is the state a replica's Value answer reports.
func FromAnswer(m *net.Value) Version {
	if !m.Found {
		return Version{Kind: Register, Stamp: m.Version, Deleted: true}
	}
	return Version{Kind: Register, Value: m.Value, Stamp: m.Version}
}

// RegisterAt is a register's state: value written at stamp t, or a
// tombstone if deleted.
func RegisterAt(value []byte, deleted bool, t clock.Timestamp) Version {
	return Version{Kind: Register, Value: value, Deleted: deleted, Stamp: t}
}

// AcceptorState is how a Paxos acceptor reports its committed state v of a
// key (in a Promise or an AcceptorState): whether the key holds a value,
// the stamp of the state, and the value.
func AcceptorState(v Version) (found bool, stamp clock.Timestamp, current []byte) {
	mustRegister(v)
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
