package node

import (
	"testing"

	"github.com/memdb/memdb/clock"
	"github.com/memdb/memdb/net"
	"github.com/memdb/memdb/node/gossip"
	"github.com/memdb/memdb/node/view"
)

// A node that finds its state lost logs the rebuilding flag, keeps it
// across a crash and a compaction, refuses every request answered from its
// data or acceptors (taking writes meanwhile), takes over the highest
// promise and acceptance its peers report, and serves once rebuilt.
func TestRebuildLostState(t *testing.T) {
	h := newHarness(t)
	h.drain()
	h.n.life = Fresh
	recs := h.n.lostState([]gossip.Member{{ID: 1, Ring: view.NextVersion(0, view.Normal)}})
	if h.n.life != Rebuilding || len(recs) != 1 || h.n.stats.Rebuilds != 1 {
		t.Fatalf("lost state: life %v, records %v, rebuilds %d", h.n.life, recs, h.n.stats.Rebuilds)
	}
	h.n.persist(recs, func() {})
	h.drain()
	h.crash()
	h.drain()
	if !h.n.Rebuilding() {
		t.Fatal("the rebuilding flag did not survive a crash")
	}
	var compacted bool
	h.n.Compact(func(_ CompactResult, err error) { compacted = err == nil })
	h.drain()
	h.crash()
	h.drain()
	if !compacted || !h.n.Rebuilding() {
		t.Fatalf("compacted %v; rebuilding after compaction and a crash: %v", compacted, h.n.Rebuilding())
	}

	// Refused: reads, Paxos, syncs of data; taken: writes; answered: a
	// confirmation of the ring.
	h.sent = nil
	epoch := h.n.view.Epoch
	stamp := clock.Timestamp{Counter: 1 << 20, Node: 2}
	h.n.Deliver(2, net.Frame{ID: 1, Msg: &net.Read{Epoch: epoch, Key: []byte("k")}})
	h.n.Deliver(2, net.Frame{ID: 2, Msg: &net.Prepare{Epoch: epoch, Ballot: stamp, Key: []byte("k")}})
	h.n.Deliver(2, net.Frame{ID: 3, Msg: &net.Sync{Epoch: epoch, Spans: []net.Span{{Start: 7, End: 7}}}})
	h.n.Deliver(2, net.Frame{ID: 6, Msg: &net.Sync{Epoch: epoch}}) // a ring confirmation is answered
	h.n.Deliver(2, net.Frame{ID: 4, Msg: &net.Replicate{Epoch: epoch, Entries: []net.Entry{{Key: []byte("w"), Value: []byte("v"), Stamp: stamp}}}})
	h.drain()
	for _, f := range h.sent {
		e, refused := f.Msg.(*net.Error)
		if want := f.ID != 4 && f.ID != 6; refused != want || refused && e.Code != net.CodeUnavailable {
			t.Errorf("request %d answered %s, want a refusal: %v", f.ID, net.Describe(f.Msg), want)
		}
	}
	if v, _ := h.n.store.Get([]byte("w")); string(v.Value) != "v" {
		t.Errorf("a write to a rebuilding node was not kept: %q", v.Value)
	}

	// Peers 2 and 3 report their acceptor state: the highest promise and
	// the highest acceptance win, whichever peer holds them.
	low, high := clock.Timestamp{Counter: 1 << 21, Node: 2}, clock.Timestamp{Counter: 1 << 22, Node: 3}
	var done *bool
	spans := []net.Span{{Start: 7, End: 7}}
	h.sent = nil
	h.n.copyAcceptors(map[uint16][]net.Span{2: spans, 3: spans}, func(ok bool) { done = &ok })
	answers := map[net.NodeID]*net.PaxosKeysReply{
		2: {Keys: [][]byte{[]byte("k")}, States: []net.Acceptor{{Promised: high, Accepted: low, Value: []byte("old")}}},
		3: {Keys: [][]byte{[]byte("k")}, States: []net.Acceptor{{Promised: low, Accepted: low.Max(clock.Timestamp{Counter: low.Counter + 1, Node: 3}), Value: []byte("new")}}},
	}
	for i, f := range h.sent {
		ask, ok := f.Msg.(*net.PaxosKeys)
		if !ok || !ask.States {
			t.Fatalf("copyAcceptors sent %s", net.Describe(f.Msg))
		}
		h.n.Deliver(net.NodeID(2+i), net.Frame{ID: f.ID, Msg: answers[net.NodeID(2+i)]})
	}
	h.drain()
	if done == nil || !*done {
		t.Fatalf("copyAcceptors: done %v", done)
	}
	h.crash()
	h.drain()
	a, ok := h.n.acceptors.Get([]byte("k"))
	if !ok || a.Promised != high || string(a.Value) != "new" {
		t.Fatalf("acceptor state after a crash: %+v, want promised %v and value new", a, high)
	}

	h.n.rebuilt()
	h.drain()
	if h.n.Rebuilding() {
		t.Fatal("still rebuilding after rebuilt")
	}
	h.crash()
	h.drain()
	if h.n.Rebuilding() {
		t.Fatal("the cleared flag came back after a crash")
	}
	h.sent = nil
	h.n.Deliver(2, net.Frame{ID: 5, Msg: &net.Read{Epoch: h.n.view.Epoch, Key: []byte("w")}})
	if len(h.sent) != 1 {
		t.Fatalf("a read after the rebuild got %d answers", len(h.sent))
	}
	if v, ok := h.sent[0].Msg.(*net.Value); !ok || string(v.Value) != "v" {
		t.Fatalf("a read after the rebuild: %s", net.Describe(h.sent[0].Msg))
	}
}
