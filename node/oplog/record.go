package oplog

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"

	"github.com/memdb/memdb/clock"
)

// Type says what a record does. Values are part of the on-disk format: never
// renumber one; add new types at the end.
type Type uint8

// Record types.
const (
	// TypeSet writes Value under Key.
	TypeSet Type = 1
	// TypeDelete writes a tombstone for Key; Value is empty.
	TypeDelete Type = 2

	// TypeLease reserves Lamport counters: its Stamp.Counter is a bound the
	// node may stamp writes up to. Replay starts the clock past every stamp
	// in the log, leases included, so a restarted node never reuses a
	// counter it may have sent to a replica before it crashed.
	TypeLease Type = 3
	// TypeMember records what the node knows of one cluster member: Key is
	// the member's id (2 bytes, big-endian), Value its record as the node
	// encodes it.
	TypeMember Type = 4

	// TypePromise is a Paxos acceptor's promise for Key: it will accept no
	// proposal with a ballot below Stamp. It is durable before the promise
	// is sent.
	TypePromise Type = 5
	// TypeAccept is a proposal a Paxos acceptor accepted for Key: ballot
	// Stamp, value Value. It is durable before the acceptance is sent.
	TypeAccept Type = 6

	// TypeFlag sets or clears one of the node's own durable flags: Key
	// names it, a non-empty Value sets it, an empty one clears it. The last
	// record of a key wins.
	TypeFlag Type = 7
	// TypeMemberTokens is TypeMember for a member with explicit tokens:
	// Value is the node's encoding of its record with the tokens in it.
	TypeMemberTokens Type = 8

	// TypeCounter is a counter's state for Key (node/store's Counter
	// kind): Value is a tag of the node's (uvarint length, then bytes: a
	// leader's operation id) and the slots' encoding. Replay merges it.
	TypeCounter Type = 9
	// TypeIntents is a register's state with batch intents for Key
	// (node/store's intent.go): Value is the store's encoding of the value
	// and the intents. Its Stamp, Origin and Seq are the latest write in
	// it. Replay merges it.
	TypeIntents Type = 10
	// TypeForget drops whatever the records before it hold for Key: the
	// node stopped replicating the key once a movement settled, and a
	// replay must not bring back the copy it had (node/grave.go). Value
	// is empty, Stamp, Origin and Seq zero.
	TypeForget Type = 11

	typeEnd Type = 12 // one past the last known type
)

func (t Type) String() string {
	switch t {
	case TypeSet:
		return "set"
	case TypeDelete:
		return "delete"
	case TypeLease:
		return "lease"
	case TypeMember:
		return "member"
	case TypePromise:
		return "promise"
	case TypeAccept:
		return "accept"
	case TypeFlag:
		return "flag"
	case TypeMemberTokens:
		return "member-tokens"
	case TypeIntents:
		return "intents"
	case TypeCounter:
		return "counter"
	case TypeForget:
		return "forget"
	}
	return fmt.Sprintf("Type(%d)", uint8(t))
}

// Valid reports whether t is a type this version knows.
func (t Type) Valid() bool { return t >= TypeSet && t < typeEnd }

// Limits on a record's fields, in bytes.
const (
	MaxKey   = 1<<16 - 1
	MaxValue = 16 << 20
)

// Record is one entry of the log. Key and Value are owned by whoever holds
// the Record: Append copies them. Those of the records Open yields are
// Open's, valid only until its apply returns.
type Record struct {
	Type  Type
	Key   []byte
	Value []byte
	// Stamp is the write's Lamport timestamp.
	Stamp clock.Timestamp
	// Origin is the node that coordinated the write, and Seq its position
	// in that node's sequence, so a peer can ask for exactly what it missed.
	Origin uint16
	Seq    uint64
}

// Errors.
var (
	// ErrInvalid: a record Append refuses (unknown type, key or value too long).
	ErrInvalid = errors.New("oplog: invalid record")
	// ErrCorrupt: the log on disk is damaged somewhere other than a torn tail
	// of its last segment. The message names the file and offset.
	ErrCorrupt = errors.New("oplog: corrupt")
	// ErrBroken: an fsync or a structural write failed, so what is durable is
	// unknown. The log refuses further work; restart and replay.
	ErrBroken = errors.New("oplog: log is broken")
	// ErrBusy: a compaction is already running.
	ErrBusy = errors.New("oplog: compaction already running")
	// ErrClosed: the log was closed.
	ErrClosed = errors.New("oplog: closed")
	// ErrNotLogged wraps a failed write of appended records (such as
	// disk.ErrNoSpace): they were cut off again and are not in the log,
	// which is still usable.
	ErrNotLogged = errors.New("oplog: append")
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Record framing: see doc.go.
const (
	recPrefix = 8                            // crc, length
	recFixed  = 1 + 8 + 2 + 2 + 8 + 2        // type .. key length
	recHeader = recPrefix + recFixed         // bytes before the key
	maxRecLen = recFixed + MaxKey + MaxValue // largest length field
)

func (r *Record) validate() error {
	switch {
	case !r.Type.Valid():
		return fmt.Errorf("%w: unknown type %d", ErrInvalid, r.Type)
	case len(r.Key) > MaxKey:
		return fmt.Errorf("%w: key of %d bytes, limit %d", ErrInvalid, len(r.Key), MaxKey)
	case len(r.Value) > MaxValue:
		return fmt.Errorf("%w: value of %d bytes, limit %d", ErrInvalid, len(r.Value), MaxValue)
	}
	return nil
}

// appendRecord appends r's encoding to b.
func appendRecord(b []byte, r *Record) []byte {
	start := len(b)
	b = binary.BigEndian.AppendUint32(b, 0) // crc, filled below
	b = binary.BigEndian.AppendUint32(b, uint32(recFixed+len(r.Key)+len(r.Value)))
	b = append(b, byte(r.Type))
	b = binary.BigEndian.AppendUint64(b, r.Stamp.Counter)
	b = binary.BigEndian.AppendUint16(b, r.Stamp.Node)
	b = binary.BigEndian.AppendUint16(b, r.Origin)
	b = binary.BigEndian.AppendUint64(b, r.Seq)
	b = binary.BigEndian.AppendUint16(b, uint16(len(r.Key)))
	b = append(b, r.Key...)
	b = append(b, r.Value...)
	binary.BigEndian.PutUint32(b[start:], crc32.Checksum(b[start+4:], castagnoli))
	return b
}

// decodeStatus says why decodeRecord stopped.
type decodeStatus int

const (
	decodeOK        decodeStatus = iota
	decodeShort                  // the buffer ends inside the record
	decodeBad                    // checksum mismatch or impossible fields
	decodeUnknown                // checksum fine, type unknown to this version
	decodeBadLength              // the length field is impossible
)

// decodeRecord decodes the record at the start of b, returning it and its
// encoded size. The record's slices alias b.
func decodeRecord(b []byte) (Record, int, decodeStatus) {
	if len(b) < recPrefix {
		return Record{}, 0, decodeShort
	}
	n := binary.BigEndian.Uint32(b[4:])
	if n < recFixed || n > maxRecLen {
		return Record{}, 0, decodeBadLength
	}
	size := recPrefix + int(n)
	if len(b) < size {
		return Record{}, 0, decodeShort
	}
	if crc32.Checksum(b[4:size], castagnoli) != binary.BigEndian.Uint32(b) {
		return Record{}, 0, decodeBad
	}
	p := b[recPrefix:size]
	klen := int(binary.BigEndian.Uint16(p[21:]))
	if recFixed+klen > len(p) {
		return Record{}, 0, decodeBad
	}
	r := Record{
		Type:   Type(p[0]),
		Stamp:  clock.Timestamp{Counter: binary.BigEndian.Uint64(p[1:]), Node: binary.BigEndian.Uint16(p[9:])},
		Origin: binary.BigEndian.Uint16(p[11:]),
		Seq:    binary.BigEndian.Uint64(p[13:]),
		Key:    p[recFixed : recFixed+klen : recFixed+klen],
		Value:  p[recFixed+klen : len(p) : len(p)],
	}
	if !r.Type.Valid() {
		return r, size, decodeUnknown
	}
	return r, size, decodeOK
}
