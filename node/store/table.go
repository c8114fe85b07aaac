package store

import (
	"encoding/binary"
	"fmt"
	"slices"
	"unsafe"

	"github.com/memdb/memdb/clock"
)

// A table is the store's keys and their states, laid out for the
// collector (issue 20): no heap object per key, and nothing it must scan
// per key.
//
//	index    hash → entry id: integer slots in a few tables (index.go)
//	entries  one 32-byte entry per key, in pages of pageSize: the stamp,
//	         kind and flags, and refs to the key's and the value's records
//	keys     an arena (arena.go) of key bytes, each key once
//	values   an arena of value records: the owner's entry id (4 bytes,
//	         little-endian), the value's length (uvarint), then its bytes
//	intents  the rare batch intents, by entry id (a side table)
//
// None but the last holds a pointer per key. A value that changes is
// written anew and its old record becomes garbage; reclaim copies the
// live records out of the sparsest chunk, a bounded step per write, so
// that garbage stays under a quarter of the live bytes (plus a few
// chunks). Keys are reclaimed by relocate, when the store unlists the
// keys it dropped (store.go): the sorted key lists name keys by their
// place in the key arena (keys.go), which therefore keeps every chunk
// (pinned) until a new arena and new lists replace it.
type table struct {
	idx     index
	ents    entries
	keys    arena
	vals    arena
	intents map[uint32]*Intents
	// slack is the garbage reclaim leaves beyond a quarter of the live
	// bytes: a few chunks (tests set less).
	slack int
	// cursor is the offset reached in the values' chunk being copied
	// out (vals.keep, if vals.hasKeep).
	cursor int
}

// An entry is one key's state, but for its bytes.
type entry struct {
	ctr   uint64 // the stamp's counter; of a free entry, the next free one + 1
	key   ref    // in keys, klen bytes
	val   ref    // in vals, if flags has fValue
	node  uint16 // the stamp's node
	klen  uint16
	kind  Kind
	flags uint8
}

const (
	fUsed    = 1 << iota
	fDeleted // Version.Deleted
	fValue   // the value has bytes, in a record of vals
	fEmpty   // the value has none, but is not nil
	fIntents // intents holds the version's Pending
)

// maxKey bounds a key's bytes (net.MaxKey's bound): an entry's klen.
const maxKey = 1<<16 - 1

// record reads the value record at r: its chunk, its owner, and where
// its value starts and ends in the chunk.
func (t *table) record(r ref) (c []byte, owner uint32, start, end int) {
	c = t.vals.chunks[r.chunk()]
	off := r.off()
	n, k := binary.Uvarint(c[off+4:])
	start = off + 4 + k
	return c, binary.LittleEndian.Uint32(c[off:]), start, start + int(n)
}

func newTable() table {
	return table{idx: newIndex(), keys: arena{pinned: true}, intents: make(map[uint32]*Intents), slack: 4 * chunkSize}
}

// bytesOf views s's bytes as a slice, to look a key up without a copy;
// nothing writes to it.
func bytesOf(s string) []byte { return unsafe.Slice(unsafe.StringData(s), len(s)) }

// find returns the id of key's entry, whose hash is h.
func (t *table) find(key []byte, h uint32) (uint32, bool) {
	it := t.idx.table(h)
	for i := it.home(h); ; {
		s := it.slots[i]
		if s == 0 {
			return 0, false
		}
		if uint32(s>>32) == h {
			id := uint32(s) - 1
			e := t.ents.at(id)
			if int(e.klen) == len(key) && string(t.keys.bytes(e.key, int(e.klen))) == string(key) {
				return id, true
			}
		}
		if i++; i == len(it.slots) {
			i = 0
		}
	}
}

// insert adds key, whose hash is h and which the table does not hold, with
// no state yet, and returns its entry's id.
func (t *table) insert(key []byte, h uint32) uint32 {
	if len(key) > maxKey {
		panic(fmt.Sprintf("store: a key of %d bytes, over %d", len(key), maxKey))
	}
	id := t.ents.alloc()
	r, b := t.keys.alloc(len(key))
	copy(b, key)
	e := t.ents.at(id)
	e.key, e.klen = r, uint16(len(key))
	t.idx.insert(h, id)
	return id
}

// key returns entry id's key, a string of the key arena.
func (t *table) key(id uint32) string {
	e := t.ents.at(id)
	return t.keys.string(e.key, int(e.klen))
}

// kref returns entry id's key as a key list holds it (keys.go).
func (t *table) kref(id uint32) kref {
	e := t.ents.at(id)
	return mkkref(e.key, int(e.klen))
}

// keyChunks returns the key arena's chunk table as it is now, to read
// krefs with: a copy, which the arena's later chunks do not change.
func (t *table) keyChunks() [][]byte { return slices.Clone(t.keys.chunks) }

// version returns entry id's state.
func (t *table) version(id uint32) Version {
	e := t.ents.at(id)
	v := Version{Stamp: clock.Timestamp{Counter: e.ctr, Node: e.node}, Kind: e.kind, Deleted: e.flags&fDeleted != 0}
	switch {
	case e.flags&fValue != 0:
		c, _, start, end := t.record(e.val)
		v.Value = c[start:end:end]
	case e.flags&fEmpty != 0:
		v.Value = []byte{}
	}
	if e.flags&fIntents != 0 {
		v.Pending = t.intents[id]
	}
	return v
}

// set makes v entry id's state, and returns the value bytes written.
func (t *table) set(id uint32, v Version) int {
	e := t.ents.at(id)
	e.ctr, e.node, e.kind = v.Stamp.Counter, v.Stamp.Node, v.Kind
	flags := uint8(fUsed)
	if v.Deleted {
		flags |= fDeleted
	}
	written := 0
	switch {
	case len(v.Value) > 0 && e.flags&fValue != 0 && t.holds(e.val, v.Value):
		// The merge kept the value the entry has (a register whose
		// intents changed): its record stays.
		flags |= fValue
	case len(v.Value) > 0:
		var hdr [4 + binary.MaxVarintLen64]byte
		binary.LittleEndian.PutUint32(hdr[:], id)
		h := hdr[:4+binary.PutUvarint(hdr[4:], uint64(len(v.Value)))]
		r, b := t.vals.alloc(len(h) + len(v.Value))
		copy(b[copy(b, h):], v.Value)
		t.dropValue(e)
		e.val, written = r, len(b)
		flags |= fValue
	default:
		t.dropValue(e)
		if v.Value != nil {
			flags |= fEmpty
		}
	}
	switch {
	case v.Pending != nil:
		t.intents[id] = v.Pending
		flags |= fIntents
	case e.flags&fIntents != 0:
		delete(t.intents, id)
	}
	e.flags = flags
	return written
}

// holds reports whether value is the bytes of value record r.
func (t *table) holds(r ref, value []byte) bool {
	c, _, start, end := t.record(r)
	return end-start == len(value) && unsafe.SliceData(c[start:]) == unsafe.SliceData(value)
}

// dropValue releases e's value record, if it has one, and returns its size.
func (t *table) dropValue(e *entry) int {
	if e.flags&fValue == 0 {
		return 0
	}
	_, _, _, end := t.record(e.val)
	n := end - e.val.off()
	t.vals.release(e.val, n)
	e.flags &^= fValue
	return n
}

// remove forgets entry id, whose key has hash h, and returns the value
// bytes it releases.
func (t *table) remove(id uint32, h uint32) int {
	e := t.ents.at(id)
	n := t.dropValue(e)
	t.keys.release(e.key, int(e.klen))
	if e.flags&fIntents != 0 {
		delete(t.intents, id)
	}
	t.idx.remove(h, id)
	t.ents.free(id)
	return n
}

// reclaim copies live value records out of the sparsest chunk while the
// garbage is over a quarter of the live bytes (and a few chunks), reading
// at most budget bytes of records: a bounded step, which writes call
// with a budget a multiple of what they wrote or released, so that
// reclaim keeps up with them.
func (t *table) reclaim(budget int) {
	for budget > 0 && (t.vals.hasKeep || t.vals.garbage() > t.vals.used/4+t.slack) {
		if !t.vals.hasKeep {
			id, ok := t.vals.sparsest()
			if !ok {
				return
			}
			t.vals.keep, t.vals.hasKeep, t.cursor = id, true, 0
		}
		victim := t.vals.keep
		c := t.vals.chunks[victim]
		for budget > 0 && t.cursor < len(c) {
			off := t.cursor
			r := mkref(victim, off)
			_, owner, _, end := t.record(r)
			n := end - off
			if e := t.ents.find(owner); e != nil && e.flags&fValue != 0 && e.val == r {
				nr, b := t.vals.alloc(n)
				copy(b, c[off:off+n])
				t.vals.release(r, n)
				e.val = nr
			}
			t.cursor += n
			budget -= n
		}
		if t.cursor >= len(c) {
			// Every live record was copied and released.
			t.vals.hasKeep = false
			t.vals.forget(victim)
		}
	}
}

// relocate copies every key into a new key arena and drops the old one,
// which the collector frees once no list or holder refers to its chunks.
// It walks every entry: the store calls it when it unlists the keys it
// dropped, a walk as long, and rebuilds its lists from key.
func (t *table) relocate() {
	keys := arena{chunk: t.keys.chunk, pinned: true}
	for _, page := range t.ents.pages {
		for i := range page {
			e := &page[i]
			if e.flags&fUsed == 0 {
				continue
			}
			r, b := keys.alloc(int(e.klen))
			copy(b, t.keys.bytes(e.key, int(e.klen)))
			e.key = r
		}
	}
	t.keys = keys
}

// entries holds the table's entries in pages of pageSize, each page a
// pointer-free array; an id is a page's number and an index in it. Free
// entries of a page are a list through their ctr; a page with none used
// is dropped, so that a store that held many keys and dropped them gives
// the memory back.
type entries struct {
	pages   [][]entry
	used    []int32  // entries used, by page
	next    []uint32 // first free entry + 1, by page; 0 if none
	partial []uint32 // pages that have free entries, to allocate from
	listed  []bool   // by page: in partial
	empty   []uint32 // numbers of dropped pages, to reuse
}

const pageBits = 12

const pageSize = 1 << pageBits

func (es *entries) at(id uint32) *entry {
	return &es.pages[id>>pageBits][id&(pageSize-1)]
}

// find returns entry id if it is used, else nil (a value record's owner
// may have been freed, its page dropped).
func (es *entries) find(id uint32) *entry {
	p := id >> pageBits
	if int(p) >= len(es.pages) || es.pages[p] == nil {
		return nil
	}
	if e := &es.pages[p][id&(pageSize-1)]; e.flags&fUsed != 0 {
		return e
	}
	return nil
}

// alloc returns the id of a free entry, now used, zero but for fUsed.
func (es *entries) alloc() uint32 {
	for len(es.partial) > 0 {
		p := es.partial[len(es.partial)-1]
		if es.pages[p] != nil && es.next[p] != 0 {
			i := es.next[p] - 1
			e := &es.pages[p][i]
			es.next[p] = uint32(e.ctr)
			*e = entry{flags: fUsed}
			es.used[p]++
			return p<<pageBits | i
		}
		es.partial = es.partial[:len(es.partial)-1]
		es.listed[p] = false
	}
	var p uint32
	if k := len(es.empty); k > 0 {
		p = es.empty[k-1]
		es.empty = es.empty[:k-1]
	} else {
		es.pages = append(es.pages, nil)
		es.used = append(es.used, 0)
		es.next = append(es.next, 0)
		es.listed = append(es.listed, false)
		p = uint32(len(es.pages) - 1)
	}
	page := make([]entry, pageSize)
	for i := range page[:pageSize-1] {
		page[i].ctr = uint64(i + 2)
	}
	es.pages[p], es.next[p] = page, 1
	if !es.listed[p] {
		es.partial = append(es.partial, p)
		es.listed[p] = true
	}
	return es.alloc()
}

// free makes entry id free.
func (es *entries) free(id uint32) {
	p, i := id>>pageBits, id&(pageSize-1)
	es.pages[p][i] = entry{ctr: uint64(es.next[p])}
	es.next[p] = i + 1
	es.used[p]--
	switch {
	case es.used[p] == 0:
		es.pages[p], es.next[p] = nil, 0
		es.empty = append(es.empty, p)
	case !es.listed[p]:
		es.partial = append(es.partial, p)
		es.listed[p] = true
	}
}
