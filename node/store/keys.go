package store

import (
	"iter"
	"slices"
	"sort"
	"strings"
	"unsafe"
)

// The sorted key list (issues 20 and 23). Streaming, anti-entropy, the
// tombstone walk and compactions walk the keys in order, a slice per turn
// of the node's loop, and ask for them again and again while the keys
// added meanwhile are few. The list is built for that:
//
//   - It holds no pointer per key. A key is a kref, 8 bytes naming its
//     bytes in the key arena (chunk, offset, length), so the collector
//     scans nothing per key, and a key costs 8 bytes here, not a 16-byte
//     string header.
//   - It is immutable, in blocks. Merging k added keys into n copies only
//     the blocks the keys land in (at most k blocks of up to maxBlock
//     keys) and the table of blocks (n/maxBlock entries), not the whole
//     list, so a merge of a few keys into millions holds the loop for
//     microseconds. A holder of a list keeps it unchanged for as long as
//     it likes while the store goes on.
//
// A kref stays valid as long as its list: the key arena keeps every
// chunk (arena.pinned) until the store relocates its keys to a new arena
// and rebuilds its lists, and a list carries the arena's chunk table as
// of its making, so a chunk made later, or a new arena, is nothing to it.

// A kref names a key's bytes in the key arena: chunk<<40 | offset<<16 |
// length. Offsets are under a chunk's capacity (a key over a quarter of
// one gets a chunk of its own, at offset 0), lengths under maxKey.
type kref uint64

const (
	krefLenBits = 16
	krefOffBits = 24
)

func mkkref(r ref, n int) kref {
	if r.off() >= 1<<krefOffBits || r.chunk() >= 1<<(64-krefLenBits-krefOffBits) {
		panic("store: a key's place in the key arena does not fit a kref")
	}
	return kref(r.chunk())<<(krefLenBits+krefOffBits) | kref(r.off())<<krefLenBits | kref(n)
}

// str returns the key r names in chunks, sharing its bytes.
func (r kref) str(chunks [][]byte) string {
	n := int(r & (1<<krefLenBits - 1))
	if n == 0 {
		return ""
	}
	off := int(r>>krefLenBits) & (1<<krefOffBits - 1)
	return unsafe.String(&chunks[r>>(krefLenBits+krefOffBits)][off], n)
}

// maxBlock bounds a block's keys: a merge that grows one past it splits it
// into halves. A merge copies every block it adds keys to, so the bound is
// what one added key costs at most (16 KiB); the table of blocks, copied
// whole by a merge, has an entry per maxBlock/2 to maxBlock keys.
const maxBlock = 2048

// A list is keys in order, in blocks, and the key arena's chunk table
// they are read with. Nothing in it is written once it is made.
type list struct {
	blocks [][]kref
	starts []int // starts[b] is the index of blocks[b]'s first key; starts[len(blocks)] the count
	chunks [][]byte
}

func (l *list) len() int {
	if l == nil {
		return 0
	}
	return l.starts[len(l.blocks)]
}

// at returns the block holding key index i (< len) and i's place in it.
func (l *list) at(i int) (b, j int) {
	b = sort.Search(len(l.blocks), func(b int) bool { return l.starts[b+1] > i })
	return b, i - l.starts[b]
}

// after returns the index of the first key greater than key.
func (l *list) after(key string) int {
	if l.len() == 0 {
		return 0
	}
	// The last block whose first key is at or before key holds it, if any
	// does; the first key after it is in that block or starts the next.
	b := sort.Search(len(l.blocks), func(b int) bool { return l.blocks[b][0].str(l.chunks) > key }) - 1
	if b < 0 {
		return 0
	}
	blk := l.blocks[b]
	j := sort.Search(len(blk), func(j int) bool { return blk[j].str(l.chunks) > key })
	return l.starts[b] + j
}

// newList makes a list of blocks, read with chunks.
func newList(blocks [][]kref, chunks [][]byte) *list {
	starts := make([]int, len(blocks)+1)
	for b, blk := range blocks {
		starts[b+1] = starts[b] + len(blk)
	}
	return &list{blocks: blocks, starts: starts, chunks: chunks}
}

// sortKeys returns keys sorted, without repeats, as a new slice.
func sortKeys(keys []kref, chunks [][]byte) []kref {
	s := slices.Clone(keys)
	slices.SortFunc(s, func(a, b kref) int { return strings.Compare(a.str(chunks), b.str(chunks)) })
	return slices.CompactFunc(s, func(a, b kref) bool { return a.str(chunks) == b.str(chunks) })
}

// merge returns l with added (in any order) merged in, as a new list read
// with chunks (the arena's table now: l's and added's keys are all in
// it). A key in both (dropped and added again, not yet unlisted) is
// listed once. Only the blocks that gain keys are copied, and a key is
// placed by binary searches, so that merging k keys into n reads about
// k·log n keys (each a likely cache miss: the keys lie where the arena put
// them) and copies k blocks and the table of blocks.
func merge(l *list, added []kref, chunks [][]byte) *list {
	add := sortKeys(added, chunks)
	var old [][]kref
	if l != nil {
		old = l.blocks
	}
	if len(old) == 0 {
		return newList(split(add), chunks)
	}
	blocks := make([][]kref, 0, len(old)+len(add)/maxBlock+1)
	b := 0 // old's blocks before b are in blocks
	for len(add) > 0 {
		// add[0] goes in the last block whose first key is at or before
		// it (the first block, if none is), with the keys after it that
		// come before the next block's first.
		first := add[0].str(chunks)
		t := b + sort.Search(len(old)-b, func(i int) bool { return old[b+i][0].str(chunks) > first }) - 1
		t = max(t, b)
		n := len(add)
		if t+1 < len(old) {
			next := old[t+1][0].str(chunks)
			n = sort.Search(len(add), func(i int) bool { return add[i].str(chunks) >= next })
		}
		blocks = append(blocks, old[b:t]...)
		blocks = append(blocks, split(mergeBlock(old[t], add[:n], chunks))...)
		add, b = add[n:], t+1
	}
	return newList(append(blocks, old[b:]...), chunks)
}

// mergeBlock returns the keys of a and b (both sorted) in order, a key in
// both once (b's), placing each of b's by a binary search of a.
func mergeBlock(a, b []kref, chunks [][]byte) []kref {
	out := make([]kref, 0, len(a)+len(b))
	for _, r := range b {
		k := r.str(chunks)
		i := sort.Search(len(a), func(i int) bool { return a[i].str(chunks) >= k })
		out = append(out, a[:i]...)
		if i < len(a) && a[i].str(chunks) == k {
			i++
		}
		out, a = append(out, r), a[i:]
	}
	return append(out, a...)
}

// split cuts keys into blocks of at most maxBlock, of even sizes; keys
// of up to maxBlock stay one block (none if it is empty).
func split(keys []kref) [][]kref {
	if len(keys) <= maxBlock {
		if len(keys) == 0 {
			return nil
		}
		return [][]kref{keys}
	}
	n := (len(keys) + maxBlock/2 - 1) / (maxBlock / 2)
	blocks := make([][]kref, 0, n)
	for i := range n {
		lo, hi := i*len(keys)/n, (i+1)*len(keys)/n
		blocks = append(blocks, slices.Clip(keys[lo:hi]))
	}
	return blocks
}

// Keys is a run of the store's keys in order, as of one moment: what
// Store.Keys returns, or a part of it (Cut, After). It never changes: a
// holder may keep it, and walk it a slice per turn, while the store goes
// on. The strings it yields share the store's bytes: a holder may keep
// them, not modify them.
type Keys struct {
	l      *list
	lo, hi int // the run's first index in l, and one past its last
}

// Len returns how many keys the run holds.
func (k Keys) Len() int { return k.hi - k.lo }

// All yields the run's keys in order.
func (k Keys) All() iter.Seq[string] {
	return func(yield func(string) bool) {
		if k.Len() == 0 {
			return
		}
		b, j := k.l.at(k.lo)
		for left := k.Len(); left > 0; b, j = b+1, 0 {
			blk := k.l.blocks[b][j:]
			blk = blk[:min(len(blk), left)]
			for _, r := range blk {
				if !yield(r.str(k.l.chunks)) {
					return
				}
			}
			left -= len(blk)
		}
	}
}

// Cut splits the run after its first n keys (all of them, if it holds no
// more).
func (k Keys) Cut(n int) (head, rest Keys) {
	m := k.lo + min(max(n, 0), k.Len())
	return Keys{k.l, k.lo, m}, Keys{k.l, m, k.hi}
}

// After returns the run's keys greater than key.
func (k Keys) After(key string) Keys {
	if k.Len() == 0 {
		return k
	}
	return Keys{k.l, min(max(k.l.after(key), k.lo), k.hi), k.hi}
}
