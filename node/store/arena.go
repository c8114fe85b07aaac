package store

import "unsafe"

// An arena holds byte records in large chunks: []byte with no pointers in
// them, so the collector never scans them, and one heap object per chunk
// rather than per record. A record is written once, when allocated, and
// never again: a slice or string of it handed out (Get's value, Keys'
// strings) stays valid and unchanged for as long as its holder keeps it,
// whatever the store does next. Space is reclaimed by copying the records
// still live into the current chunk and forgetting the old chunk, which
// the collector frees once no holder refers to it; never by writing over
// a record.
type arena struct {
	chunks [][]byte // by chunk id; nil once forgotten
	live   []int    // bytes of each chunk's records still in use
	free   []uint32 // ids of forgotten chunks, to reuse
	cur    uint32   // the chunk records are appended to, if any
	hasCur bool
	// keep is a chunk not to forget when its last record is released
	// (one being copied out, whose walk forgets it at its end).
	keep    uint32
	hasKeep bool
	// size is the bytes of all chunks' records, used or not; used is the
	// bytes of records in use.
	size, used int
	// chunk is the chunks' capacity if not zero, else chunkSize (tests
	// make it small, to reclaim with few records).
	chunk int
	// pinned keeps every chunk, even with no record in use, until the
	// arena is dropped whole: a chunk id then names one chunk for the
	// arena's life, so that a ref of a released record (a key list's,
	// keys.go) still reads its bytes.
	pinned bool
}

// chunkSize is an arena chunk's capacity. A record over a quarter of it
// gets a chunk of its own, so that a chunk's unused tail stays small.
const chunkSize = 256 << 10

// A ref names a record: its chunk id and offset. Refs are integers, so
// the tables that hold them have no pointers for the collector to scan.
type ref uint64

func mkref(chunk uint32, off int) ref { return ref(chunk)<<32 | ref(uint32(off)) }

func (r ref) chunk() uint32 { return uint32(r >> 32) }
func (r ref) off() int      { return int(uint32(r)) }

// alloc makes a record of n bytes and returns it to be filled, once.
func (a *arena) alloc(n int) (ref, []byte) {
	if n == 0 {
		return 0, nil
	}
	var id uint32
	switch {
	case n > a.chunkCap()/4:
		id = a.newChunk(n)
	case !a.hasCur || len(a.chunks[a.cur])+n > cap(a.chunks[a.cur]):
		old, had := a.cur, a.hasCur
		id = a.newChunk(a.chunkCap())
		a.cur, a.hasCur = id, true
		if had && a.live[old] == 0 && !(a.hasKeep && old == a.keep) && !a.pinned {
			a.forget(old)
		}
	default:
		id = a.cur
	}
	c := a.chunks[id]
	off := len(c)
	a.chunks[id] = c[:off+n]
	a.live[id] += n
	a.size += n
	a.used += n
	return mkref(id, off), c[off : off+n : off+n]
}

func (a *arena) chunkCap() int {
	if a.chunk != 0 {
		return a.chunk
	}
	return chunkSize
}

func (a *arena) newChunk(n int) uint32 {
	c := make([]byte, 0, n)
	if k := len(a.free); k > 0 {
		id := a.free[k-1]
		a.free = a.free[:k-1]
		a.chunks[id], a.live[id] = c, 0
		return id
	}
	a.chunks = append(a.chunks, c)
	a.live = append(a.live, 0)
	return uint32(len(a.chunks) - 1)
}

// bytes returns record r's n bytes, capacity n: a holder's append copies.
func (a *arena) bytes(r ref, n int) []byte {
	if n == 0 {
		return nil
	}
	off := r.off()
	return a.chunks[r.chunk()][off : off+n : off+n]
}

// string returns record r's n bytes as a string sharing them (they are
// never written again).
func (a *arena) string(r ref, n int) string {
	if n == 0 {
		return ""
	}
	return unsafe.String(&a.chunks[r.chunk()][r.off()], n)
}

// release says record r's n bytes are no longer used; a chunk left with
// none in use is forgotten at once (unless records are still appended to
// it).
func (a *arena) release(r ref, n int) {
	if n == 0 {
		return
	}
	id := r.chunk()
	a.live[id] -= n
	a.used -= n
	if a.live[id] == 0 && !(a.hasCur && id == a.cur) && !(a.hasKeep && id == a.keep) && !a.pinned {
		a.forget(id)
	}
}

// forget drops chunk id: its space no longer counts, and the collector
// frees it once no one holds a record of it.
func (a *arena) forget(id uint32) {
	if a.live[id] != 0 {
		panic("store: an arena chunk forgotten with records in use")
	}
	a.size -= len(a.chunks[id])
	a.chunks[id] = nil
	a.free = append(a.free, id)
}

// garbage is the bytes of records no longer used, in chunks not yet
// forgotten.
func (a *arena) garbage() int { return a.size - a.used }

// sparsest returns the chunk, other than the current one and those of one
// record, with the most bytes not in use (the lowest id of equals); ok is
// false if none has any.
func (a *arena) sparsest() (id uint32, ok bool) {
	most := 0
	for i, c := range a.chunks {
		if c == nil || a.hasCur && uint32(i) == a.cur || cap(c) != a.chunkCap() {
			continue
		}
		if g := len(c) - a.live[i]; g > most {
			id, most, ok = uint32(i), g, true
		}
	}
	return id, ok
}
