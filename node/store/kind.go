package store

import (
	"encoding/binary"
	"fmt"
	"hash/fnv"
)

// Kind is the kind of value a key holds. A kind is one definition of how
// two states of a key merge, how a state is hashed for anti-entropy and
// what it costs in bytes; every path that moves a key's state — a
// coordinator's write, replication, hints, read repair, streaming and
// catch-up, digests, compaction and replay — goes through it, so a new
// kind of value is one more definition here and one more encoding in
// encode.go, not a special case in each path.
type Kind uint8

const (
	// Register is a value or a tombstone; the later stamp wins (Lamport
	// last-writer-wins). The zero Kind.
	Register Kind = iota
)

func (k Kind) String() string {
	if d, ok := kinds[k]; ok {
		return d.name
	}
	return fmt.Sprintf("kind(%d)", uint8(k))
}

// def is one kind's definition.
type def struct {
	name string
	// merge returns the state holding both cur and next, both of this
	// kind, and whether it differs from cur. It must be commutative,
	// associative and idempotent in the states it returns, so replicas
	// that see the same states in any order, any number of times, agree.
	merge func(cur, next Version) (Version, bool)
	// hash feeds the state's bytes (beyond key and stamp) to an
	// anti-entropy digest.
	hash func(b []byte, v Version) []byte
	// seen reports whether a node whose per-origin marks are mark has
	// every write in v: catch-up and streaming skip such states.
	seen func(v Version, mark func(origin uint16) (uint64, bool)) bool
}

var kinds = map[Kind]def{
	Register: {name: "register", merge: mergeRegister, hash: hashRegister, seen: seenRegister},
	Counter:  {name: "counter", merge: mergeCounter, hash: hashCounter, seen: seenCounter},
}

func kindOf(k Kind) def {
	d, ok := kinds[k]
	if !ok {
		panic(fmt.Sprintf("store: a version of unknown kind %d: every kind must be defined in kind.go", k))
	}
	return d
}

// Merge returns the state of a key that holds both cur and next, and
// whether it differs from cur. cur may be the zero Version: the key had
// nothing. States of the same kind merge by the kind's rule; of two kinds,
// the higher Kind wins whatever the stamps (a key once incremented is a
// counter: Counter outranks Register), so the merge stays a join — any
// order of the same states gives the same result.
func Merge(cur, next Version) (Version, bool) {
	switch {
	case next.empty():
		return cur, false
	case cur.empty() || cur.Kind < next.Kind:
		return next, true
	case cur.Kind > next.Kind:
		return cur, false
	}
	return kindOf(next.Kind).merge(cur, next)
}

// Seen reports whether a node whose per-origin marks are marks already has
// every write in v (a register's stamp; each of a counter's slots):
// catch-up and streaming send only states that are not seen.
func Seen(v Version, marks map[uint16]uint64) bool {
	return kindOf(v.Kind).seen(v, func(o uint16) (uint64, bool) {
		c, ok := marks[o]
		return c, ok
	})
}

// Covers reports whether merging next into cur changes nothing: cur holds
// everything next has (a replica that answered cur to a read needs no
// repair with next; a write of next to a key at cur needs no logging).
func Covers(cur, next Version) bool {
	_, changed := Merge(cur, next)
	return !changed
}

// Hash is the anti-entropy digest term of key at v: FNV-1a 64 of the key,
// the stamp, the tombstone flag, the value's length and bytes, and what
// the kind adds. Two replicas that hold the same state of a key give the
// same term.
func Hash(key []byte, v Version) uint64 {
	var b [19]byte
	binary.BigEndian.PutUint16(b[:2], uint16(len(key)))
	binary.BigEndian.PutUint64(b[2:10], v.Stamp.Counter)
	binary.BigEndian.PutUint16(b[10:12], v.Stamp.Node)
	if v.Deleted {
		b[12] = 1
	}
	binary.BigEndian.PutUint32(b[13:17], uint32(len(v.Value)))
	h := fnv.New64a()
	h.Write(b[:17])
	h.Write(key)
	h.Write(kindOf(v.Kind).hash(nil, v))
	return h.Sum64()
}

// mergeRegister is last-writer-wins: the later stamp replaces the state
// whole; an equal stamp names the same write, so nothing changes. With
// batch intents on either side it is mergeIntents (intent.go).
func mergeRegister(cur, next Version) (Version, bool) {
	if len(cur.Intents()) > 0 || len(next.Intents()) > 0 {
		return mergeIntents(cur, next)
	}
	if cur.Stamp.Less(next.Stamp) {
		return next, true
	}
	return cur, false
}

// seenRegister: the origin's mark is at or past the stamp (and each
// intent's, seenIntents).
func seenRegister(v Version, mark func(uint16) (uint64, bool)) bool {
	if len(v.Intents()) > 0 {
		return seenIntents(v, mark)
	}
	c, ok := mark(v.Stamp.Node)
	return ok && v.Stamp.Counter <= c
}

// hashRegister adds the value's bytes (registers hashed this way before
// kinds existed, so digests did not change with them), then any intents.
func hashRegister(b []byte, v Version) []byte {
	return hashIntents(append(b, v.Value...), v)
}
