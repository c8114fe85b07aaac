package stream

import (
	"sort"

	"github.com/memdb/memdb/net"
	"github.com/memdb/memdb/node/ring"
	"github.com/memdb/memdb/node/store"
)

// Scan returns, in key order after after, the entries of st in spans ss
// stamped after marks (every entry of an origin with no mark), up to about
// limit bytes, but at least one; more says there are others, from next on.
// An entry costs its key, its value and 16 bytes.
func Scan(st *store.Store, ss []net.Span, marks []net.Mark, after []byte, limit int) (es []net.Entry, more bool, next []byte) {
	mark := make(map[uint16]uint64, len(marks))
	for _, m := range marks {
		mark[m.Origin] = m.Counter
	}
	keys := st.Keys()
	i := sort.SearchStrings(keys, string(after))
	if i < len(keys) && len(after) > 0 && keys[i] == string(after) {
		i++
	}
	size := 0
	for ; i < len(keys); i++ {
		k := []byte(keys[i])
		if !Contains(ss, ring.Hash(k)) {
			continue
		}
		v, _ := st.Get(k)
		if store.Seen(v, mark) {
			continue
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
