package node

import (
	"testing"

	"github.com/memdb/memdb/net"
)

// Paxos repair finds a proposal accepted and never committed — on this
// node's acceptor or, by PaxosKeys, a peer's — and finishes it: a full
// round chooses it again and commits it to the store.
func TestPaxosRepairFinishesAProposal(t *testing.T) {
	h := newHarness(t)
	h.drain()
	h.commitAt("done", "v", h.ballotPast(1))
	b := h.ballotPast(5)
	h.prepareAt("k", b)
	h.acceptAt("k", "chosen?", b)
	whole := []net.Span{{Start: 7, End: 7}}
	if got := h.n.inProgress(whole, false); len(got) != 1 || string(got[0]) != "k" {
		t.Fatalf("in progress: %q, want only k (done is committed)", got)
	}
	h.sent = nil
	h.n.Deliver(2, net.Frame{ID: 9, Msg: &net.PaxosKeys{Epoch: h.n.view.epoch, Spans: whole}})
	h.n.Deliver(2, net.Frame{ID: 10, Msg: &net.PaxosKeys{Epoch: h.n.view.epoch + 1, Spans: whole}})
	var reply *net.PaxosKeysReply
	refused := false
	for _, f := range h.sent {
		switch m := f.Msg.(type) {
		case *net.PaxosKeysReply:
			reply = m
		case *net.Error:
			refused = refused || f.ID == 10
		}
	}
	if reply == nil || len(reply.Keys) != 1 || string(reply.Keys[0]) != "k" || !refused {
		t.Fatalf("PaxosKeys answered %v (refused the other ring: %v), want [k] and a refusal", reply, refused)
	}

	var ok *bool
	h.n.finishKeys([]string{"k"}, func(repaired bool) { ok = &repaired })
	h.drain()
	if ok == nil || !*ok {
		t.Fatalf("paxos repair: done %v", ok)
	}
	if v, _ := h.n.store.Get([]byte("k")); string(v.Value) != "chosen?" {
		t.Fatalf("after repair k = %q, want the proposal in progress committed", v.Value)
	}
	if got := h.n.inProgress(whole, false); len(got) != 0 || h.n.stats.PaxosRepaired != 1 {
		t.Fatalf("after repair in progress %q, repaired %d; want none and 1", got, h.n.stats.PaxosRepaired)
	}
}
