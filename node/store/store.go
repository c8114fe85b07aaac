package store

import (
	"iter"
	"slices"

	"github.com/memdb/memdb/clock"
)

// Version is one stamped state of a key: of a Register, a value, or a
// tombstone if Deleted, and the batch intents not settled yet (Pending,
// intent.go). Kind says how it merges with other states of the key
// (kind.go); Stamp is the write that made it (of a merged state, the
// latest write in it; zero for a register that holds only intents).
type Version struct {
	Stamp   clock.Timestamp
	Value   []byte
	Pending *Intents // read with Intents
	Kind    Kind
	Deleted bool
}

// Live reports whether v holds a value (it exists and is not a tombstone).
func (v Version) Live() bool { return !v.Stamp.IsZero() && !v.Deleted }

// Tombstone reports whether v is a register's tombstone and nothing
// else (no batch intents or markers): what the node's tombstone rule may
// drop.
func (v Version) Tombstone() bool {
	return v.Kind == Register && v.Deleted && !v.Stamp.IsZero() && v.Pending == nil
}

// empty reports whether v holds nothing at all.
func (v Version) empty() bool { return v.Stamp.IsZero() && len(v.Intents()) == 0 }

// size is what v counts for in Bytes: its value and its intents' values.
func (v Version) size() int {
	n := len(v.Value)
	for _, i := range v.Intents() {
		n += len(i.Token) + len(i.Value) + 16
	}
	return n
}

// Store maps keys to their latest version. It is not safe for concurrent
// use. It keeps keys and values in a table of its own (table.go): Apply
// copies the key's and the value's bytes into it (a caller may reuse them
// once Apply returns: a boot's replay does) and keeps Pending's Intents
// as they are. The slices and strings it hands out (Get's value, Keys'
// and Order's keys) are its bytes: it never writes them again, and a
// holder may keep them for as long as it likes, but must not modify them
// either.
type Store struct {
	t     table
	seed  uint64 // the index hash's (NewSeeded)
	bytes int
	// sorted is every key in order as of the last time Keys merged them,
	// and added the keys added since, in the order they were: streaming
	// and anti-entropy ask for the keys again and again while new keys
	// are few, so Keys merges the added ones into the blocks they land in
	// rather than sorting all (keys.go). Neither is ever written once
	// made or appended, so a caller may hold them (Order) while the store
	// goes on. Both name keys by their place in the key arena: 8 bytes a
	// key, and no pointer for the collector.
	sorted *list
	added  []kref
	// order counts the times sorted was replaced, so that a merge made
	// off the loop is adopted only if no other replaced it meanwhile.
	order uint64
	// sum is node.MutantMergeSum's planted bug (SumCounters).
	sum bool
	// pending are the keys whose state holds batch intents that wait for
	// a decision (not those with aborted markers only).
	pending map[string]struct{}
	// reverse is node.MutantReverseTies's planted bug (ReverseTies).
	reverse bool
	// touched sums the slots Prefetch read, so that the reads are not
	// optimized away; it means nothing.
	touched uint64
	// dropped counts the keys Drop removed since Keys last sorted: they
	// may still be in sorted (or added), which Keys then filters.
	dropped int
}

// New returns an empty store whose index hash has no seed (seed 0).
func New() *Store { return NewSeeded(0) }

// NewSeeded returns an empty store whose index hashes keys under seed
// (hashKey): where keys sit in its index, and so which of them share
// probe chains, depends on it; nothing else the store does. A server
// draws it at random, so that no one can choose keys that collide on
// every node.
func NewSeeded(seed uint64) *Store {
	return &Store{t: newTable(), pending: make(map[string]struct{}), seed: seed}
}

// hash is key's hash in the index.
func (s *Store) hash(key []byte) uint32 { return hashKey(s.seed, key) }

// WithIntents returns the keys whose state holds batch intents that wait
// for a decision, in order.
func (s *Store) WithIntents() []string {
	keys := make([]string, 0, len(s.pending))
	for k := range s.pending {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// Get returns the key's latest version; ok is false if the key has none.
// A tombstone is returned with ok true and Deleted set. The value is the
// store's bytes (its capacity its length): the caller may hold it, not
// modify it.
func (s *Store) Get(key []byte) (v Version, ok bool) {
	id, ok := s.t.find(key, s.hash(key))
	if !ok {
		return Version{}, false
	}
	return s.t.version(id), true
}

// Apply merges v into the key by its kind's rule (Merge) and reports
// whether the key's state changed (false if the store already held all
// of v).
func (s *Store) Apply(key []byte, v Version) bool {
	_, changed := s.Update(key, v)
	return changed
}

// Update is Apply, and also returns the key's state once v is merged in
// (the state it had if nothing changed), saving the caller a Get: its
// Value may be v's bytes (or the state's before) rather than the store's
// copy of them, which Get would return; the rest is Get's.
func (s *Store) Update(key []byte, v Version) (now Version, changed bool) {
	h := s.hash(key)
	id, ok := s.t.find(key, h)
	var cur Version
	if ok {
		cur = s.t.version(id)
	}
	switch {
	case s.sum && cur.Kind == Counter && v.Kind == Counter && !cur.Stamp.IsZero() && !v.Stamp.IsZero():
		v, changed = mergeSum(cur, v)
	case s.reverse && ok && cur.Kind == Register && v.Kind == Register && cur.Stamp.Counter == v.Stamp.Counter && cur.Stamp.Node != v.Stamp.Node:
		changed = v.Stamp.Node < cur.Stamp.Node
	default:
		v, changed = Merge(cur, v)
	}
	if !changed {
		return cur, false
	}
	if ok {
		s.bytes -= cur.size()
	} else {
		s.bytes += len(key)
		id = s.t.insert(key, h)
		s.added = append(s.added, s.t.kref(id))
	}
	s.bytes += v.size()
	w := s.t.set(id, v)
	switch {
	case v.undecided():
		s.pending[string(key)] = struct{}{}
	case len(cur.Intents()) > 0:
		delete(s.pending, string(key))
	}
	s.t.reclaim(reclaimRate*w + reclaimStep)
	return v, true
}

// Reserve readies an empty store for n keys about to be applied (a
// boot's replay of a base, whose header counts its records): its index
// is sized for them at once rather than grown and split as they come.
// It changes nothing else; a store that holds keys ignores it.
func (s *Store) Reserve(n int) {
	if s.t.idx.n != 0 {
		return
	}
	s.t.idx.reserve(n)
	s.added = slices.Grow(s.added, n)
}

// Prefetch reads the index slots a look-up of each key reads first, so
// that an Apply of the keys soon after finds them in the cache. A boot's
// replay calls it with the next few records' keys: their slots are read
// together, so that their cache misses (the index of millions of keys is
// far larger than the cache) overlap rather than stall each Apply in
// turn. It changes nothing.
func (s *Store) Prefetch(keys [][]byte) {
	var at [16]*uint64
	for len(keys) > 0 {
		n := min(len(keys), len(at))
		for i, k := range keys[:n] {
			h := s.hash(k)
			it := s.t.idx.table(h)
			at[i] = &it.slots[it.home(h)]
		}
		// The loads depend on nothing but the addresses: the processor
		// has them all in flight at once.
		var sum uint64
		for _, p := range at[:n] {
			sum += *p
		}
		s.touched += sum
		keys = keys[n:]
	}
}

// reclaimRate and reclaimStep set the bounded step of reclaim a write
// takes: reclaimRate times the bytes it wrote or released, plus
// reclaimStep. Reclaim runs only while the garbage is over a quarter of
// the live bytes, so the chunk it copies out is at least a fifth
// garbage, and copying 8 bytes of it for each written frees more than
// was written: reclaim keeps up.
const (
	reclaimRate = 8
	reclaimStep = 256
)

// ReverseTies makes the store order two register versions whose stamps
// share a counter by the lower node id, where the clock's order (and
// Merge) takes the higher: the planted bug node.MutantReverseTies.
// Nothing else calls it.
func (s *Store) ReverseTies() { s.reverse = true }

// Len returns the number of keys, tombstones included.
func (s *Store) Len() int { return s.t.idx.n }

// Bytes returns the bytes held in keys and values.
func (s *Store) Bytes() int { return s.bytes }

// Keys returns every key, tombstones included, in sorted order, so that
// whatever iterates them does so deterministically — and perhaps keys
// dropped since they were last unlisted (Drop), fewer than those held,
// for which Get finds nothing: a walk skips them, as it skips a key
// dropped during the walk. (Unlisting at every call would cost a walk of
// every key on the node's loop after each drop.) It merges the keys added
// since the last call in, copying the blocks of the list they land in
// (keys.go): for k keys added, at most k blocks and the table of blocks.
func (s *Store) Keys() Keys {
	if len(s.added) > 0 {
		s.sorted, s.added = merge(s.sorted, s.added, s.t.keyChunks()), nil
		s.order++
	}
	return Keys{s.sorted, 0, s.sorted.len()}
}

// Listed yields every key the store lists — those in order as of the last
// merge, then those added since, as they were added — without merging
// them, as Keys would: a checker reads the store this way without
// changing what it does next. As with Keys, a dropped key may be among
// them (Get finds nothing); so may a key twice, dropped and added again.
func (s *Store) Listed() iter.Seq[string] {
	return func(yield func(string) bool) {
		for k := range s.inOrder().All() {
			if !yield(k) {
				return
			}
		}
		chunks := s.t.keys.chunks
		for _, r := range s.added {
			if !yield(r.str(chunks)) {
				return
			}
		}
	}
}

// Drop forgets key and its state, as if it had never held one (a
// tombstone that has served its purpose: the node's tombstone rule,
// node/grave.go). Keys and Order may still list it until Drop unlists
// the dropped keys (once they are half of those listed), and whoever
// walks those keys finds no state for it (Get's ok is false), as with any
// key dropped during a walk.
func (s *Store) Drop(key []byte) {
	h := s.hash(key)
	id, ok := s.t.find(key, h)
	if !ok {
		return
	}
	v := s.t.version(id)
	s.bytes -= len(key) + v.size()
	delete(s.pending, string(key))
	w := s.t.remove(id, h)
	s.dropped++
	if s.dropped >= unlistAfter && 2*s.dropped >= s.sorted.len()+len(s.added) {
		// The dropped keys are half of those listed: unlist them, or a
		// node that drops as many keys as it adds (new keys set and
		// deleted, an Order-and-Adopt walk between each few thousand, which
		// never calls Keys) lists every key it ever held. Each unlisting
		// costs at most twice the drops since the last.
		s.unlist()
	}
	s.t.reclaim(reclaimRate*w + reclaimStep)
}

// unlistAfter is the least number of keys dropped since they were last
// unlisted that Drop unlists.
const unlistAfter = 4096

// unlist takes the dropped keys out of sorted and added, into new lists:
// the old ones may be held (Order), and an Adopt of them is refused. The
// keys move to a new key arena, without the dropped ones' bytes; the
// lists are rebuilt of it, so that the old arena's chunks are freed once
// no holder refers to them.
func (s *Store) unlist() {
	held := func(keys iter.Seq[string]) []kref {
		var kept []kref
		for k := range keys {
			if id, ok := s.t.find(bytesOf(k), s.hash(bytesOf(k))); ok {
				kept = append(kept, s.t.kref(id))
			}
		}
		return kept
	}
	// The old lists are read before the keys move, with the old arena.
	old := s.t.keys.chunks
	added := func(yield func(string) bool) {
		for _, r := range s.added {
			if !yield(r.str(old)) {
				return
			}
		}
	}
	sorted := s.inOrder().All()
	s.t.relocate()
	s.sorted = newList(split(held(sorted)), s.t.keyChunks())
	s.added, s.dropped = held(added), 0
	s.order++
}

// inOrder returns the keys in order as of the last merge, without merging
// those added since.
func (s *Store) inOrder() Keys { return Keys{s.sorted, 0, s.sorted.len()} }

// An Order is what Keys would merge, taken at once (Store.Order): the
// keys in order as of the last merge and those added since. It stays
// valid while the store changes (the store never writes what it handed
// out), so another goroutine may Merge it while the node goes on: long
// walks (a compaction, digests, scans) that find many keys added start
// this way, and hand the merge back to the store (Adopt).
type Order struct {
	sorted *list
	added  []kref
	chunks [][]byte
	token  uint64
}

// Order returns what Keys would merge.
func (s *Store) Order() Order {
	return Order{s.sorted, slices.Clip(s.added), s.t.keyChunks(), s.order}
}

// Added returns how many keys o has to merge.
func (o Order) Added() int { return len(o.added) }

// Merge returns o's keys merged, in order: what Keys would have returned.
// It reads nothing but o, so any goroutine may call it.
func (o Order) Merge() Keys {
	l := merge(o.sorted, o.added, o.chunks)
	return Keys{l, 0, l.len()}
}

// Adopt takes merged, o's Merge, as the keys in order, unless the store
// merged or unlisted its keys since Order; keys added after Order stay to
// be merged.
func (s *Store) Adopt(o Order, merged Keys) {
	if o.token != s.order || len(o.added) > len(s.added) {
		return
	}
	s.sorted, s.added = merged.l, s.added[len(o.added):]
	s.order++
}
