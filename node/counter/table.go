// Package counter is the leader's side of a counter increment: the table
// of increments a node applied to its own slots, by operation id, and the
// rule that judges an increment that may be a retry (Judge). The counter's
// state — slots merged by version — is node/store's Counter kind; this
// package is what makes an increment happen once.
//
// # Operation ids and retries
//
// A client names each increment (session, seq) and sends every attempt of
// it with that id, the same first clock (its session clock when the call
// began) and to the same node. The node that applies an increment — its
// leader, a replica of the key that raises its own slot — logs the id with
// the slot in one record (store.TaggedRecord), synced before the slot
// leaves the node, so after any crash the id is in the table exactly when
// the slot change survived. A retry then finds its id (applied: answer it
// again, apply nothing) or does not; then it was never applied here if
// the table still covers ids of its age. The table forgets ids older than
// a retention window (Table.Prune), and remembers how far it forgot: its
// horizon, the highest slot version among the forgotten. An increment is
// stamped after its first clock (the node observes the clock before it
// stamps), so an id the table forgot has a first clock below the horizon.
// Judge therefore applies an increment absent from the table only if it is
// a first attempt, or a retry whose first clock is at or past the horizon;
// any other retry is answered unknown outcome — never applied twice. That
// rests on every attempt of a call reaching one leader (a client sends
// them all to one node; a node forwards them all to one replica).
//
// A node that is not a replica of the key forwards the increment to one
// that is; it remembers the ids it forwarded, and to which node, each at
// its clock when it chose to (past the op's first clock; the forward
// itself leaves only under a stamp of its durable lease). A retry of one
// it forwarded (Judge: Forwarded) goes to the same node again, or is
// answered unknown outcome if that node is no longer the one to send it
// to, or the forwarding node now leads the key itself (the ring moved):
// so every attempt of a call that reaches a leader reaches the same one,
// directly from the client or through the client's node, and that leader
// judges a forwarded retry as it judges a client's own (PAPER bug 78: a
// forward lost once made every retry of the call unknown). The ids
// forwarded are kept in memory only: at boot the horizon rises to the
// node's clock (Boot), which starts past every lease it logged, so a retry
// whose first attempt came before the restart is judged by the logged
// table alone. A node with no log generation yet (it never applied an
// increment: new, or wiped) raises the horizon to its clock before it
// judges one, so a retry of an increment a lost earlier generation applied
// is below it as long as the node's clock has passed that increment's
// stamp — which its rebuild, from the replicas that took the slot, gives
// it (PAPER §2 has the argument and its limit).
//
// Time (the node's clock) decides only when ids are forgotten, never
// whether an increment is applied: a clock that jumps makes the table
// forget early, which turns retries into unknown outcomes, not double
// counts.
package counter

import (
	"encoding/binary"
	"errors"
	"maps"
	"slices"
	"time"

	"github.com/memdb/memdb/clock"
)

// OpID names one increment across its attempts.
type OpID struct {
	Session, Seq uint64
}

func (o OpID) less(p OpID) bool {
	return o.Session < p.Session || o.Session == p.Session && o.Seq < p.Seq
}

// Applied is what the table keeps of an increment it applied.
type Applied struct {
	Key     string
	Value   int64     // the counter's value at this node right after it
	Version uint64    // the version its slot was written at
	At      time.Time // when, by the node's clock: for retention only
}

// Table is a node's applied increments. The zero Table is not usable: use
// New.
type Table struct {
	ops       map[OpID]Applied
	forwarded map[OpID]forward
	horizon   uint64
}

// A forward is an increment the node sent to another leader.
type forward struct {
	to    uint16 // the leader every attempt it forwards goes to
	clock uint64 // the node's clock when it last did, past the op's first clock
	at    time.Time
}

// New returns an empty table whose horizon is h (see the package doc).
func New(h uint64) *Table {
	return &Table{ops: make(map[OpID]Applied), forwarded: make(map[OpID]forward), horizon: h}
}

// Boot raises the horizon to clock, the node's clock as it starts.
func (t *Table) Boot(clock uint64) { t.horizon = max(t.horizon, clock) }

// maxForwarded bounds the forwarded ids a table keeps between prunes: a
// node that only forwards never compacts for its own writes.
const maxForwarded = 1 << 16

// Forwarded records that the node sends op to node to to apply, at its
// clock reading clock and time now; past maxForwarded ids it first
// forgets those older than retention, then, if still full, all of them
// (the horizon rises past each: retries become unknown, never applied).
// A node records a forward before it sends it, and sends a retry of op
// only to ForwardedTo(op).
func (t *Table) Forwarded(op OpID, to uint16, clock uint64, now time.Time, retention time.Duration) {
	if f, ok := t.forwarded[op]; ok {
		t.forwarded[op] = forward{f.to, max(f.clock, clock), now}
		return
	}
	if len(t.forwarded) >= maxForwarded {
		cutoff := now.Add(-retention)
		all := len(t.forwarded)-t.forget(cutoff) >= maxForwarded
		for o, f := range t.forwarded {
			if all {
				t.horizon = max(t.horizon, f.clock)
				delete(t.forwarded, o)
			}
		}
	}
	t.forwarded[op] = forward{to, clock, now}
}

// ForwardedTo is the node the node forwarded op to, if it did.
func (t *Table) ForwardedTo(op OpID) (uint16, bool) {
	f, ok := t.forwarded[op]
	return f.to, ok
}

// Verdict is Judge's decision on an increment.
type Verdict uint8

const (
	// Apply: the node never applied it; apply it now.
	Apply Verdict = iota
	// Again: the node applied it; answer with what it applied, apply
	// nothing.
	Again
	// Unknown: the node cannot tell whether it applied it (the table
	// forgot ids of its age); answer unknown outcome, apply nothing.
	Unknown
	// Forwarded: the node sent an earlier attempt to another leader
	// (ForwardedTo); send this one there too, or, if that is no longer
	// the node to send it to, answer unknown outcome.
	Forwarded
)

// Judge decides increment op's fate at this node: attempt is its retry
// count (0 the first send), first the client's clock when it began. Every
// earlier attempt came to this node, from the client or forwarded by the
// client's node (see the package doc).
func (t *Table) Judge(op OpID, attempt uint32, first clock.Timestamp) (Verdict, Applied) {
	if a, ok := t.ops[op]; ok {
		return Again, a
	}
	if _, ok := t.forwarded[op]; ok {
		return Forwarded, Applied{}
	}
	if attempt == 0 || first.Counter >= t.horizon {
		return Apply, Applied{}
	}
	return Unknown, Applied{}
}

// Record adds an applied increment.
func (t *Table) Record(op OpID, a Applied) { t.ops[op] = a }

// Horizon is the table's horizon.
func (t *Table) Horizon() uint64 { return t.horizon }

// Len is the number of increments kept.
func (t *Table) Len() int { return len(t.ops) }

// Prune forgets the increments applied or forwarded before cutoff and
// raises the horizon past their versions (forwarded: past the clock when
// they were).
func (t *Table) Prune(cutoff time.Time) (forgot int) {
	for op, a := range t.ops {
		if a.At.Before(cutoff) {
			t.horizon = max(t.horizon, a.Version)
			delete(t.ops, op)
			forgot++
		}
	}
	return forgot + t.forget(cutoff)
}

// forget forgets the forwarded ids older than cutoff (in any order: the
// result does not depend on it).
func (t *Table) forget(cutoff time.Time) (forgot int) {
	for op, f := range t.forwarded {
		if f.at.Before(cutoff) {
			t.horizon = max(t.horizon, f.clock)
			delete(t.forwarded, op)
			forgot++
		}
	}
	return forgot
}

// All yields the increments kept, by id.
func (t *Table) All(yield func(OpID, Applied) bool) {
	for _, op := range slices.SortedFunc(maps.Keys(t.ops), func(a, b OpID) int {
		switch {
		case a.less(b):
			return -1
		case b.less(a):
			return 1
		}
		return 0
	}) {
		if !yield(op, t.ops[op]) {
			return
		}
	}
}

// tagSize is the bytes of a tag: session, seq, value, version, at.
const tagSize = 40

// Tag is the bytes a log record keeps of an applied increment (with its
// slot: store.TaggedRecord).
func Tag(op OpID, a Applied) []byte {
	b := make([]byte, 0, tagSize)
	b = binary.BigEndian.AppendUint64(b, op.Session)
	b = binary.BigEndian.AppendUint64(b, op.Seq)
	b = binary.BigEndian.AppendUint64(b, uint64(a.Value))
	b = binary.BigEndian.AppendUint64(b, a.Version)
	return binary.BigEndian.AppendUint64(b, uint64(a.At.UnixNano()))
}

// ErrTag is returned for a tag that does not decode.
var ErrTag = errors.New("bad increment tag")

// ParseTag reads a tag back; key is the record's.
func ParseTag(tag []byte, key []byte) (OpID, Applied, error) {
	if len(tag) != tagSize {
		return OpID{}, Applied{}, ErrTag
	}
	u := func(i int) uint64 { return binary.BigEndian.Uint64(tag[8*i:]) }
	return OpID{u(0), u(1)}, Applied{Key: string(key), Value: int64(u(2)), Version: u(3), At: time.Unix(0, int64(u(4)))}, nil
}
