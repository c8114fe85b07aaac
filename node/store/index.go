package store

import (
	"encoding/binary"
	"math/bits"
)

// An index maps a key's hash to the entries of the keys with it: open
// addressing with linear probing, in tables of about tableMax slots at
// most, found by the hash's top bits (extendible hashing). A slot is the
// entry's id and the hash's 32 bits, so that a probe compares keys only
// on a match of all 32, and a table is rehashed without reading keys. A
// table grows by a quarter at a time, so that slots stay between 64% and
// 80% used (8 to 13 bytes a key); a full one splits in two, its slots'
// hashes telling which half each goes to. No insertion rehashes more than
// one table: growth costs a bounded step, never a walk of every key
// (issue 23).
type index struct {
	dir   []*itable // 1<<depth of them, by the hash's top depth bits
	depth uint
	n     int
}

// An itable is one table of the index; every slot of dir whose top
// depth bits (its local depth) are prefix points to it. A hash's home
// slot is its low 16 bits scaled to the table's size (not the top bits,
// which the directory uses).
type itable struct {
	slots  []uint64 // hash<<32 | (entry id + 1); 0 is empty
	n      int
	depth  uint
	prefix uint32
}

const (
	tableMin = 8
	tableMax = 1 << 14
	maxDepth = 16
)

func newIndex() index {
	return index{dir: []*itable{{slots: make([]uint64, tableMin)}}}
}

// table is the table that holds hash h.
func (x *index) table(h uint32) *itable {
	return x.dir[uint64(h)>>(32-x.depth)]
}

// home is hash h's first slot in t.
func (t *itable) home(h uint32) int {
	return int(uint64(h&0xffff) * uint64(len(t.slots)) >> 16)
}

// full reports whether t, holding n slots, must grow before one more.
func full(n, slots int) bool { return (n+1)*5 > slots*4 }

// sized is the slots for n entries after a growth, split or shrink: 70%
// used.
func sized(n int) int { return max(tableMin, n*10/7+1) }

// hashKey is a hash of a key under a seed (Store's: NewSeeded). It mixes
// 8 bytes at a time by 64-bit multiplication, as wyhash does. The seed
// changes where keys sit in the index and nothing else the store does
// (nothing iterates the index), so a node may draw it at random: keys
// chosen to collide on one node then collide on no other, or after a
// restart.
func hashKey(seed uint64, k []byte) uint32 {
	h := uint64(len(k))*0x9e3779b97f4a7c15 ^ 0xa0761d6478bd642f ^ seed
	for len(k) >= 8 {
		h = mix(h^binary.LittleEndian.Uint64(k), 0xe7037ed1a0b428db)
		k = k[8:]
	}
	var t uint64
	if len(k) >= 4 {
		t = uint64(binary.LittleEndian.Uint32(k))<<32 | uint64(binary.LittleEndian.Uint32(k[len(k)-4:]))
	} else if len(k) > 0 {
		t = uint64(k[0])<<16 | uint64(k[len(k)>>1])<<8 | uint64(k[len(k)-1])
	}
	h = mix(h^t, 0x8ebc6af09c88c6e3)
	h = mix(h, 0x589965cc75374cc3)
	return uint32(h ^ h>>32)
}

func mix(a, b uint64) uint64 {
	hi, lo := bits.Mul64(a, b)
	return hi ^ lo
}

// reserve sizes an empty index for n entries at once: as many tables as
// n entries would split it into, each with the slots its share needs (a
// sixteenth more, for the hashes' spread), so that loading n keys grows
// and splits none, or few. An index that holds entries is left as is.
func (x *index) reserve(n int) {
	if x.n != 0 || n <= 0 {
		return
	}
	var depth uint
	for depth < maxDepth && sized((n>>depth)+(n>>depth)/16) > reserveMax {
		depth++
	}
	per := n >> depth
	x.dir, x.depth = make([]*itable, 1<<depth), depth
	for i := range x.dir {
		x.dir[i] = &itable{slots: make([]uint64, min(sized(per+per/16), tableMax)), depth: depth, prefix: uint32(i)}
	}
}

// reserveMax bounds a reserved table's slots: well under tableMax, so
// that a table whose share of the hashes runs over its reserve grows
// rather than splits.
const reserveMax = tableMax * 3 / 4

// insert adds entry id under hash h (not already there).
func (x *index) insert(h uint32, id uint32) {
	t := x.table(h)
	for full(t.n, len(t.slots)) {
		if len(t.slots) < tableMax || t.depth == maxDepth {
			// (A table told apart by maxDepth bits grows instead: the
			// directory stays at most 1<<maxDepth, whatever the keys.)
			t.resize(max(len(t.slots)+tableMin, len(t.slots)*5/4))
		} else {
			x.split(t)
			t = x.table(h)
		}
	}
	t.put(uint64(h)<<32 | uint64(id+1))
	t.n++
	x.n++
}

// put stores slot s in the first empty slot from its home.
func (t *itable) put(s uint64) {
	for i := t.home(uint32(s >> 32)); ; {
		if t.slots[i] == 0 {
			t.slots[i] = s
			return
		}
		if i++; i == len(t.slots) {
			i = 0
		}
	}
}

// resize rehashes t into n slots.
func (t *itable) resize(n int) {
	old := t.slots
	t.slots = make([]uint64, n)
	for _, s := range old {
		if s != 0 {
			t.put(s)
		}
	}
}

// split replaces full table t by two, each holding the slots whose hash
// has the next bit 0 or 1, doubling the directory first if t is already
// told apart by all its bits.
func (x *index) split(t *itable) {
	if t.depth == x.depth {
		dir := make([]*itable, 2*len(x.dir))
		for i := range dir {
			dir[i] = x.dir[i>>1]
		}
		x.dir, x.depth = dir, x.depth+1
	}
	d := t.depth + 1
	one := func(s uint64) bool { return (s>>32)>>(32-d)&1 == 1 }
	ones := 0
	for _, s := range t.slots {
		if s != 0 && one(s) {
			ones++
		}
	}
	a := &itable{slots: make([]uint64, sized(t.n-ones)), n: t.n - ones, depth: d, prefix: t.prefix << 1}
	b := &itable{slots: make([]uint64, sized(ones)), n: ones, depth: d, prefix: t.prefix<<1 | 1}
	for _, s := range t.slots {
		switch {
		case s == 0:
		case one(s):
			b.put(s)
		default:
			a.put(s)
		}
	}
	span := 1 << (x.depth - d)
	start := int(a.prefix) << (x.depth - d)
	for i := range span {
		x.dir[start+i] = a
		x.dir[start+span+i] = b
	}
}

// remove takes entry id, under hash h, out of the index, shifting back
// the slots after it that probed past it (no tombstones).
func (x *index) remove(h uint32, id uint32) {
	t := x.table(h)
	want := uint64(h)<<32 | uint64(id+1)
	n := len(t.slots)
	next := func(i int) int {
		if i++; i == n {
			return 0
		}
		return i
	}
	i := t.home(h)
	for t.slots[i] != want {
		if t.slots[i] == 0 {
			panic("store: removing an entry the index does not hold")
		}
		i = next(i)
	}
	for j := next(i); t.slots[j] != 0; j = next(j) {
		home := t.home(uint32(t.slots[j] >> 32))
		// The slot at j stays unless its home is cyclically outside (i, j].
		if i <= j && (home <= i || home > j) || i > j && home <= i && home > j {
			t.slots[i], i = t.slots[j], j
		}
	}
	t.slots[i] = 0
	t.n--
	x.n--
	if len(t.slots) > tableMin && t.n*8 < len(t.slots) {
		t.resize(sized(t.n))
	}
}
