package store

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"

	"github.com/memdb/memdb/clock"
	"github.com/memdb/memdb/net"
)

// An Intent is one batch's pending write of a key (design/batches.md): the
// batch's token, the version T it commits at, and the value or tombstone.
// A register's state holds, beside its value, the intents it has not
// settled yet; an intent is settled once the register's stamp reaches its
// T — the batch's write applied, or a later write that supersedes it — and
// the merge then drops it. An aborted batch's intent stays as a marker
// (Aborted, no value) until then, so a late copy of the intent is never
// taken for a pending one.
//
// A register with intents merges as a join: last writer wins on the value,
// the intents of both are united (a marker outranks a pending intent of
// the same batch and version), and those at or below the value's stamp
// are dropped. Any order of the same states gives the same state.
type Intent struct {
	Token   []byte
	Stamp   clock.Timestamp // T, the version the batch commits at
	Value   []byte
	Deleted bool
	Aborted bool
}

// Intents is a list of intents, oldest first.
type Intents []Intent

// MaxToken bounds a batch token's bytes.
const MaxToken = 64

// ErrIntents is wrapped by the errors of register states with intents that
// do not decode.
var ErrIntents = errors.New("bad intents state")

// Undecided reports whether the intent waits for its batch's decision.
func (i Intent) Undecided() bool { return !i.Aborted }

func (i Intent) before(o Intent) bool {
	if c := i.Stamp.Compare(o.Stamp); c != 0 {
		return c < 0
	}
	return bytes.Compare(i.Token, o.Token) < 0
}

func (i Intent) same(o Intent) bool { return i.Stamp == o.Stamp && bytes.Equal(i.Token, o.Token) }

// IntentAt is the state of a key that holds only intent i (what a batch's
// first phase writes to the key's replicas).
func IntentAt(i Intent) Version {
	return withIntents(Version{Kind: Register}, []Intent{i})
}

// Intents are the batch intents v holds, oldest first (none for most
// states: a Version keeps them behind a pointer, so that a key without
// any costs one word for them, not a slice's three).
func (v Version) Intents() []Intent {
	if v.Pending == nil {
		return nil
	}
	return *v.Pending
}

// withIntents is v holding intents is (none if empty).
func withIntents(v Version, is []Intent) Version {
	v.Pending = nil
	if len(is) > 0 {
		v.Pending = (*Intents)(&is)
	}
	return v
}

// Settled is v without its intents: the last committed state of the key,
// what a read answers once the intents it found are decided.
func (v Version) Settled() Version {
	v.Pending = nil
	return v
}

// Undecided returns v's intents that wait for a decision, oldest first.
func (v Version) Undecided() []Intent {
	var out []Intent
	for _, i := range v.Intents() {
		if i.Undecided() {
			out = append(out, i)
		}
	}
	return out
}

// undecided reports whether v holds an intent that waits for a decision.
func (v Version) undecided() bool {
	for _, i := range v.Intents() {
		if i.Undecided() {
			return true
		}
	}
	return false
}

// Latest is the latest write v holds: its stamp, or an intent's if later.
func (v Version) Latest() clock.Timestamp {
	t := v.Stamp
	for _, i := range v.Intents() {
		if t.Less(i.Stamp) {
			t = i.Stamp
		}
	}
	return t
}

// mergeIntents is the register's merge once either side has intents: the
// later value wins, the intents are united and those the value's stamp
// settles are dropped. cur and next are registers.
func mergeIntents(cur, next Version) (Version, bool) {
	out := cur
	if cur.Stamp.Less(next.Stamp) {
		out.Value, out.Deleted, out.Stamp = next.Value, next.Deleted, next.Stamp
	}
	var pending []Intent
	add := func(i Intent) {
		if !out.Stamp.Less(i.Stamp) {
			return // settled by the value
		}
		j := slices.IndexFunc(pending, i.same)
		switch {
		case j < 0:
			pending = append(pending, i)
		case i.Aborted && !pending[j].Aborted:
			pending[j] = i
		}
	}
	for _, i := range cur.Intents() {
		add(i)
	}
	for _, i := range next.Intents() {
		add(i)
	}
	slices.SortFunc(pending, func(a, b Intent) int {
		switch {
		case a.before(b):
			return -1
		case b.before(a):
			return 1
		}
		return 0
	})
	if len(pending) == 0 {
		pending = nil
	}
	out = withIntents(out, pending)
	return out, !sameRegister(cur, out)
}

// sameRegister reports whether two registers are the same state.
func sameRegister(a, b Version) bool {
	if a.Stamp != b.Stamp || a.Deleted != b.Deleted || len(a.Intents()) != len(b.Intents()) {
		return false
	}
	for k := range a.Intents() {
		if !a.Intents()[k].same(b.Intents()[k]) || a.Intents()[k].Aborted != b.Intents()[k].Aborted {
			return false
		}
	}
	return true
}

// seenIntents: the value's stamp and every intent's are covered by their
// origins' marks.
func seenIntents(v Version, mark func(uint16) (uint64, bool)) bool {
	if c, ok := mark(v.Stamp.Node); !v.Stamp.IsZero() && (!ok || v.Stamp.Counter > c) {
		return false
	}
	for _, i := range v.Intents() {
		if c, ok := mark(i.Stamp.Node); !ok || i.Stamp.Counter > c {
			return false
		}
	}
	return true
}

// hashIntents adds each intent to a digest term.
func hashIntents(b []byte, v Version) []byte {
	for _, i := range v.Intents() {
		b = append(b, 'i')
		b = appendIntent(b, i)
	}
	return b
}

// The encoding of a register with intents, in an entry's value (state
// byte 3) and a TypeIntents record:
//
//	1     flags: bit 0 the value is a tombstone
//	10    the value's stamp (counter, node; zero if the key has no value)
//	uvarint length, then the value
//	uvarint count of intents, then each, oldest first:
//	  uvarint length, then the token
//	  10    T (counter, node)
//	  1     flags: bit 0 a tombstone, bit 1 aborted (no value)
//	  uvarint length, then the value
func encodeIntents(v Version) []byte {
	b := make([]byte, 0, 24+len(v.Value)+len(v.Intents())*48)
	var f byte
	if v.Deleted {
		f = 1
	}
	b = append(b, f)
	b = appendStamp(b, v.Stamp)
	b = binary.AppendUvarint(b, uint64(len(v.Value)))
	b = append(b, v.Value...)
	b = binary.AppendUvarint(b, uint64(len(v.Intents())))
	for _, i := range v.Intents() {
		b = appendIntent(b, i)
	}
	return b
}

func appendStamp(b []byte, t clock.Timestamp) []byte {
	return binary.BigEndian.AppendUint16(binary.BigEndian.AppendUint64(b, t.Counter), t.Node)
}

func appendIntent(b []byte, i Intent) []byte {
	b = binary.AppendUvarint(b, uint64(len(i.Token)))
	b = append(b, i.Token...)
	b = appendStamp(b, i.Stamp)
	var f byte
	if i.Deleted {
		f |= 1
	}
	if i.Aborted {
		f |= 2
	}
	b = append(b, f)
	b = binary.AppendUvarint(b, uint64(len(i.Value)))
	return append(b, i.Value...)
}

// intentReader decodes encodeIntents' bytes.
type intentReader struct {
	b   []byte
	err error
}

func (r *intentReader) fail(what string) {
	if r.err == nil {
		r.err = fmt.Errorf("%w: %s", ErrIntents, what)
	}
}

func (r *intentReader) byte(what string) byte {
	if r.err != nil || len(r.b) < 1 {
		r.fail(what)
		return 0
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c
}

func (r *intentReader) stamp(what string) clock.Timestamp {
	if r.err != nil || len(r.b) < 10 {
		r.fail(what)
		return clock.Timestamp{}
	}
	t := clock.Timestamp{Counter: binary.BigEndian.Uint64(r.b), Node: binary.BigEndian.Uint16(r.b[8:])}
	r.b = r.b[10:]
	return t
}

func (r *intentReader) bytes(limit int, what string) []byte {
	if r.err != nil {
		return nil
	}
	n, k := binary.Uvarint(r.b)
	if k <= 0 || n > uint64(len(r.b)-k) || n > uint64(limit) {
		r.fail(what)
		return nil
	}
	out := r.b[k : k+int(n) : k+int(n)]
	r.b = r.b[k+int(n):]
	return out
}

// maxValue bounds a value in a state with intents (net.MaxValue's bound).
const maxValue = 8 << 20

// decodeIntents is the register encodeIntents encoded, checked: flags
// known, a tombstone and a marker without bytes, intents in order, each
// after the value's stamp, at least one.
func decodeIntents(b []byte) (Version, error) {
	r := &intentReader{b: b}
	v := Version{Kind: Register}
	f := r.byte("flags")
	v.Deleted = f&1 != 0
	v.Stamp = r.stamp("the value's stamp")
	v.Value = r.bytes(maxValue, "the value")
	n, k := binary.Uvarint(r.b)
	if r.err == nil && (k <= 0 || n == 0 || n > uint64(len(r.b))/12) {
		r.fail("the count of intents")
	}
	if r.err == nil {
		r.b = r.b[k:]
	}
	var list []Intent
	for j := 0; r.err == nil && j < int(n); j++ {
		var i Intent
		i.Token = r.bytes(MaxToken, "a token")
		i.Stamp = r.stamp("an intent's version")
		g := r.byte("an intent's flags")
		i.Deleted, i.Aborted = g&1 != 0, g&2 != 0
		i.Value = r.bytes(maxValue, "an intent's value")
		switch {
		case r.err != nil:
		case g&^3 != 0:
			r.fail("unknown intent flags")
		case len(i.Token) == 0 || i.Stamp.IsZero() || !v.Stamp.Less(i.Stamp):
			r.fail("an intent without a token, without a version or settled by the value")
		case (i.Deleted || i.Aborted) && len(i.Value) != 0:
			r.fail("a tombstone or aborted intent with value bytes")
		case j > 0 && !list[j-1].before(i):
			r.fail("intents out of order")
		}
		list = append(list, i)
	}
	switch {
	case r.err != nil:
		return Version{}, r.err
	case f&^1 != 0 || len(r.b) != 0:
		return Version{}, fmt.Errorf("%w: unknown flags or trailing bytes", ErrIntents)
	case v.Deleted && len(v.Value) != 0:
		return Version{}, fmt.Errorf("%w: a tombstone with value bytes", ErrIntents)
	case v.Stamp.IsZero() && (v.Deleted || len(v.Value) != 0):
		return Version{}, fmt.Errorf("%w: a value without a stamp", ErrIntents)
	}
	v = withIntents(v, list)
	return v, nil
}

// A batch's record is the decision on it, one Paxos compare-and-set on the
// record key: absent while undecided, then committed at a version or
// aborted, never changed once decided. A committed record names the
// batch's keys, so that a collector can ask their replicas whether the
// batch's write reached them (node/batch.go has the rule it keeps);
// records written before that hold only the version, and are kept.

// RecordKey is the key of the record of the batch with token.
func RecordKey(token []byte) []byte {
	return append([]byte(recordPrefix), token...)
}

// IsRecordKey reports whether key is a batch's record key.
func IsRecordKey(key []byte) bool { return bytes.HasPrefix(key, []byte(recordPrefix)) }

// RecordExpired reports whether v, a record key's state, is a record
// expired by bound, a node's clock as it read a batch retention ago: a
// value whose version's counter is at or below the bound's. The counter
// alone, because a node's clock that took a record's version in (as any
// version it applies) reads that counter, but from a lower node id may
// stay below the version itself while nothing moves it on. A zero bound
// expires nothing.
func RecordExpired(bound clock.Timestamp, v Version) bool {
	return !bound.IsZero() && v.Live() && v.Stamp.Counter <= bound.Counter
}

// DropMarkers is register v without the aborted markers that bound
// expires (a marker's version's counter at or below the bound's, as
// RecordExpired), and whether it had any: an aborted batch's markers may
// go once its decision is older than the batch retention (node/batch.go's
// rule), a pending copy of the intent arriving later being looked up and
// aborted again. A zero bound expires nothing.
func DropMarkers(v Version, bound clock.Timestamp) (Version, bool) {
	if bound.IsZero() || v.Pending == nil {
		return v, false
	}
	expired := func(i Intent) bool { return i.Aborted && i.Stamp.Counter <= bound.Counter }
	if !slices.ContainsFunc(v.Intents(), expired) {
		return v, false
	}
	kept := slices.DeleteFunc(slices.Clone(v.Intents()), expired)
	return withIntents(v, kept), true
}

// Nothing reports whether v holds nothing at all: a register with no
// value, no tombstone and no intents (what dropping a key's last markers
// leaves of a key that was never written otherwise).
func (v Version) Nothing() bool {
	return v.Kind == Register && v.Stamp.IsZero() && v.Pending == nil
}

// recordPrefix is where batch records live, among the cluster's own keys
// that clients cannot write.
const recordPrefix = "\x00memdb/txn/"

// An Outcome is what a batch's record says.
type Outcome uint8

const (
	Undecided Outcome = iota // no record
	Committed                // committed, at the record's version
	Aborted                  // aborted: none of its writes ever applies
)

func (o Outcome) String() string {
	return [...]string{"undecided", "committed", "aborted"}[min(int(o), 2)]
}

// A BatchRecord is a batch's record as read: its outcome, the version it
// committed at, and the keys it wrote (Named false for a committed
// record of the old form, which does not say).
type BatchRecord struct {
	Outcome Outcome
	At      clock.Timestamp
	Keys    [][]byte
	Named   bool
}

// The record values of a decided batch:
//
//	'A'                      aborted
//	'K' T(10) uvarint n, then n times uvarint length and a key
//	                         committed at T, writing those keys
//	'C' T(10)                committed at T (the old form: no keys)
//
// A committed record is bounded by the batch's own bounds, whatever its
// values were: at most net.MaxBatchKeys keys of at most net.MaxKey bytes
// and net.MaxBatchBytes in all, so under 11 + 2 + 128 × 3 bytes and
// 4 MiB of keys, below net.MaxValue (a CAS carries it).

// CommitRecord is the record of a batch committed at t that wrote keys.
func CommitRecord(t clock.Timestamp, keys [][]byte) []byte {
	size := 11 + binary.MaxVarintLen16
	for _, k := range keys {
		size += binary.MaxVarintLen16 + len(k)
	}
	b := appendStamp(make([]byte, 0, size), t)
	b = append([]byte{'K'}, b...)
	b = binary.AppendUvarint(b, uint64(len(keys)))
	for _, k := range keys {
		b = binary.AppendUvarint(b, uint64(len(k)))
		b = append(b, k...)
	}
	return b
}

// AbortRecord is the record of an aborted batch.
func AbortRecord() []byte { return []byte{'A'} }

// ParseRecord reads a record's value; found false is no record.
func ParseRecord(found bool, b []byte) (Outcome, clock.Timestamp, error) {
	r, err := ReadRecord(found, b)
	return r.Outcome, r.At, err
}

// ReadRecord reads a record's value, checked: found false is no record;
// a committed record names at least one key and at most
// net.MaxBatchKeys, none empty, too long or twice.
func ReadRecord(found bool, b []byte) (BatchRecord, error) {
	bad := func(what string) (BatchRecord, error) {
		return BatchRecord{}, fmt.Errorf("%w: a batch record of %d bytes: %s", ErrIntents, len(b), what)
	}
	switch {
	case !found:
		return BatchRecord{}, nil
	case len(b) == 1 && b[0] == 'A':
		return BatchRecord{Outcome: Aborted}, nil
	case len(b) == 11 && b[0] == 'C':
		return BatchRecord{Outcome: Committed, At: readStamp(b[1:])}, nil
	case len(b) < 12 || b[0] != 'K':
		return bad("not one")
	}
	rec := BatchRecord{Outcome: Committed, At: readStamp(b[1:]), Named: true}
	r := &intentReader{b: b[11:]}
	n, k := binary.Uvarint(r.b)
	if k <= 0 || n == 0 || n > net.MaxBatchKeys {
		return bad("the count of keys")
	}
	r.b = r.b[k:]
	seen, size := make(map[string]bool, n), 0
	for range n {
		key := r.bytes(net.MaxKey, "a key")
		size += len(key)
		if r.err != nil || len(key) == 0 || seen[string(key)] || size > net.MaxBatchBytes {
			return bad("a key empty, too long, cut short or twice, or too many bytes of keys")
		}
		seen[string(key)] = true
		rec.Keys = append(rec.Keys, key)
	}
	if len(r.b) != 0 {
		return bad("trailing bytes")
	}
	return rec, nil
}

func readStamp(b []byte) clock.Timestamp {
	return clock.Timestamp{Counter: binary.BigEndian.Uint64(b), Node: binary.BigEndian.Uint16(b[8:])}
}

// HoldsWrite reports whether state v of a key holds the write of the
// batch with token committed at t: it is a register at or past t, with no
// undecided intent of the batch (of any attempt). A batch's record may be
// collected once every replica of every key of it holds its write
// durably (node/batchgc.go): a late intent of the committed attempt then
// merges below the state, and one of another attempt is aborted.
func HoldsWrite(v Version, token []byte, t clock.Timestamp) bool {
	if v.Kind != Register || v.Stamp.Less(t) {
		return false
	}
	for _, i := range v.Undecided() {
		if bytes.Equal(i.Token, token) {
			return false
		}
	}
	return true
}

// Decide is what intent i becomes once its batch's record says o, at
// version t if committed: the batch's write at its version if it
// committed at i's version, a marker if it aborted or committed at
// another version (another attempt of the same batch, whose intents
// carry that version: this one never applies); ok is false while
// undecided.
func Decide(i Intent, o Outcome, t clock.Timestamp) (v Version, ok bool) {
	switch {
	case o == Committed && t == i.Stamp:
		return RegisterAt(i.Value, i.Deleted, i.Stamp), true
	case o == Committed || o == Aborted:
		return IntentAt(Intent{Token: i.Token, Stamp: i.Stamp, Aborted: true}), true
	}
	return Version{}, false
}
