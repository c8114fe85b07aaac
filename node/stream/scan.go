package stream

import (
	"github.com/memdb/memdb/net"
	"github.com/memdb/memdb/node/ring"
	"github.com/memdb/memdb/node/store"
)

// ScanWalk bounds the keys one Scan looks at, so that a scan of a small
// span in a large store holds the node's loop for one bounded slice: a
// scan that walked this many keys ends there, with more, even with no
// entry found (the asker asks again from next).
const ScanWalk = 32768

// Scan returns, in key order after after, the entries of st in spans ss
// not seen by marks (store.Seen: every entry of an origin with no mark),
// up to about limit bytes, but at least one, and looking at no more than
// ScanWalk keys; more says there may be others, from next on. An entry
// costs its key, its value and 16 bytes.
func Scan(st *store.Store, ss []net.Span, marks []net.Mark, after []byte, limit int) (es []net.Entry, more bool, next []byte) {
	return ScanKeys(st, st.Keys(), ss, marks, after, limit)
}

// ScanKeys is Scan over keys, st's keys in order (or all of them as of
// some moment: Store.Order).
func ScanKeys(st *store.Store, keys store.Keys, ss []net.Span, marks []net.Mark, after []byte, limit int) (es []net.Entry, more bool, next []byte) {
	return scanKeys(st, keys, ss, marks, after, limit, ScanWalk)
}

func scanKeys(st *store.Store, keys store.Keys, ss []net.Span, marks []net.Mark, after []byte, limit, walk int) (es []net.Entry, more bool, next []byte) {
	mark := make(map[uint16]uint64, len(marks))
	for _, m := range marks {
		mark[m.Origin] = m.Counter
	}
	if len(after) > 0 {
		keys = keys.After(string(after))
	}
	size, n, last := 0, 0, ""
	for key := range keys.All() {
		if n == walk {
			return es, true, []byte(last)
		}
		n, last = n+1, key
		k := []byte(key)
		if !Contains(ss, ring.Hash(k)) {
			continue
		}
		v, ok := st.Get(k)
		if !ok || store.Seen(v, mark) {
			continue // dropped (store.Drop), or seen
		}
		e := store.Entry(k, v)
		// The bound leaves the next entry's 16 bytes of stamp and framing
		// out: batches have always been cut this way, and cutting them
		// otherwise would move every stream's batch boundaries.
		if size > 0 && size+e.Size()-16 > limit {
			return es, true, es[len(es)-1].Key
		}
		es = append(es, e)
		size += e.Size()
	}
	return es, false, nil
}
