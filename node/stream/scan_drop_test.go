package stream

import (
	"fmt"
	"testing"

	"github.com/memdb/memdb/clock"
	"github.com/memdb/memdb/net"
	"github.com/memdb/memdb/node/store"
)

// Found by review (issue 22, PAPER bug 62): node.withKeys, once more than compactSlice (1024)
// keys were added since the last sort, walks the keys of Store.Order —
// whose sorted part still lists the keys Drop removed since Keys last
// filtered them. ScanKeys (serveSync, push) then sent the dropped key with
// the zero state, and no peer could decode the frame ("an entry has no
// stamp"): the stream failed, again and again while that held.
func TestScanSkipsDroppedKey(t *testing.T) {
	s := store.New()
	put := func(i int) {
		s.Apply(fmt.Appendf(nil, "k%05d", i), store.RegisterAt([]byte("v"), false, clock.Timestamp{Counter: uint64(i + 1), Node: 1}))
	}
	for i := range 10 {
		put(i)
	}
	s.Keys()
	for i := 10; i < 2000; i++ { // more than compactSlice added: withKeys's offload path
		put(i)
	}
	s.Drop([]byte("k00003")) // a tombstone the rule dropped, say
	keys := s.Order().Merge()
	whole := []net.Span{{Start: 0, End: ^uint64(0)}, {Start: ^uint64(0), End: 0}}
	es, _, _ := ScanKeys(s, keys, whole, nil, nil, 1<<30)
	for _, e := range es {
		if e.Stamp.IsZero() {
			f := net.Frame{ID: 1, Msg: &net.SyncBatch{Entries: es}}
			_, _, err := net.Decode(net.Encode(f))
			t.Fatalf("ScanKeys sent dropped key %s with no stamp; the SyncBatch decodes with: %v", e.Key, err)
		}
	}
}
