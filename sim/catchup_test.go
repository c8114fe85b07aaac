package sim

import (
	"strings"
	"testing"

	"github.com/memdb/memdb/net"
	"github.com/memdb/memdb/node"
	"github.com/memdb/memdb/node/store"
)

// replicaDouble is a process that is only a store, a replica of every
// key, with boot marks and a count of completed catch-ups: what the
// catch-up checker reads.
type replicaDouble struct {
	id    uint16
	st    *store.Store
	marks []net.Mark
	stats node.Stats
}

func (r *replicaDouble) Start() error                  { return nil }
func (r *replicaDouble) Request(net.ConnID, net.Frame) {}
func (r *replicaDouble) Deliver(net.NodeID, net.Frame) {}
func (r *replicaDouble) Disconnected(net.ConnID)       {}
func (r *replicaDouble) Err() error                    { return nil }
func (r *replicaDouble) Store() *store.Store           { return r.st }
func (r *replicaDouble) Replicas(key []byte) []uint16  { return []uint16{1, 2} }
func (r *replicaDouble) Epoch() uint64                 { return 1 }
func (r *replicaDouble) Stats() node.Stats             { return r.stats }
func (r *replicaDouble) BootMarks() []net.Mark         { return r.marks }

// TestCheckCatchUp: node 1 restarted with boot marks {origin 2: 10} and
// asks node 2, which holds k0 at 12.2 (past the mark: promised) and k1 at
// 7.2 (at or below it: not promised). Its catch-up reports done holding
// k0 (pass) or not (fail); missing k1 passes either way.
func TestCheckCatchUp(t *testing.T) {
	for _, tc := range []struct {
		name string
		has  map[string]store.Version // node 1's store at done
		want string                   // in the reason; "" passes
	}{
		{"holds what was past its mark", map[string]store.Version{"k0": store.RegisterAt([]byte("b"), false, ts(12, 2))}, ""},
		{"holds later still", map[string]store.Version{"k0": store.RegisterAt([]byte("c"), false, ts(13, 3))}, ""},
		{"lacks what was past its mark", map[string]store.Version{"k0": store.RegisterAt([]byte("a"), false, ts(9, 2)), "k1": store.RegisterAt([]byte("x"), false, ts(7, 2))}, "catch-up: node 1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := &replicaDouble{id: 2, st: store.New()}
			src.st.Apply([]byte("k0"), store.RegisterAt([]byte("b"), false, ts(12, 2)))
			src.st.Apply([]byte("k1"), store.RegisterAt([]byte("x"), false, ts(7, 2)))
			dst := &replicaDouble{id: 1, st: store.New(), marks: []net.Mark{{Origin: 2, Counter: 10}}}
			w := &world{}
			h1 := &host{w: w, id: 1, up: true, proc: dst}
			h2 := &host{w: w, id: 2, up: true, proc: src}
			w.hosts = []*host{h1, h2}

			// The first Sync of the pull, over the whole ring; the marks it
			// carries are ignored for the boot marks.
			w.expectCatchUp(h1, 2, &net.Sync{Spans: []net.Span{{Start: 0, End: 0}}, Marks: []net.Mark{{Origin: 2, Counter: 99}}})
			for k, v := range tc.has {
				dst.st.Apply([]byte(k), v)
			}
			w.checkCatchUp(h1) // no catch-up done yet: nothing checked
			if w.failure != nil {
				t.Fatalf("checked before the catch-up was done: %s", w.failure.reason)
			}
			dst.stats.CatchUps++
			w.checkCatchUp(h1)
			switch {
			case tc.want == "" && w.failure != nil:
				t.Errorf("%s", w.failure.reason)
			case tc.want != "" && (w.failure == nil || !strings.Contains(w.failure.reason, tc.want)):
				t.Errorf("got %v, want safety with %q", w.failure, tc.want)
			}
		})
	}
}
