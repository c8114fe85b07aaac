package node

import (
	"slices"
	"strings"
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
	h.n.Deliver(2, net.Frame{ID: 9, Msg: &net.PaxosKeys{Epoch: h.n.view.Epoch, Spans: whole}})
	h.n.Deliver(2, net.Frame{ID: 10, Msg: &net.PaxosKeys{Epoch: h.n.view.Epoch + 1, Spans: whole}})
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

// PaxosKeys answers in pages of about paxosKeysPage bytes, each at least
// one key, and askPaxosKeys follows them to the end: a peer with many large
// accepted values never builds a frame past the limit.
func TestPaxosKeysPages(t *testing.T) {
	h := newHarness(t)
	h.drain()
	big := strings.Repeat("v", paxosKeysPage/3)
	want := []string{"a", "b", "c", "d", "e", "f", "g"}
	for i, k := range want {
		h.acceptAt(k, big, h.ballotPast(uint64(1+i)))
	}
	whole := []net.Span{{Start: 7, End: 7}}
	var pages [][]string
	var after []byte
	for more := true; more; {
		h.sent = nil
		h.n.Deliver(2, net.Frame{ID: 1, Msg: &net.PaxosKeys{Epoch: h.n.view.Epoch, Spans: whole, States: true, After: after}})
		r, ok := h.sent[0].Msg.(*net.PaxosKeysReply)
		if !ok || len(r.Keys) == 0 || len(r.States) != len(r.Keys) {
			t.Fatalf("page after %q: %s", after, describeAnswer(h.sent[0].Msg))
		}
		var page []string
		for i, k := range r.Keys {
			page = append(page, string(k))
			if string(r.States[i].Value) != big {
				t.Fatalf("key %s: state value of %d bytes, want the accepted one", k, len(r.States[i].Value))
			}
		}
		pages = append(pages, page)
		more, after = r.More, r.Keys[len(r.Keys)-1]
	}
	var got []string
	for _, p := range pages {
		if len(p) > 3 {
			t.Errorf("a page of %d keys of %d bytes each, over the %d-byte page", len(p), len(big), paxosKeysPage)
		}
		got = append(got, p...)
	}
	if len(pages) < 3 || !slices.Equal(got, want) {
		t.Fatalf("pages %v, want every key once, in order, in 3 or more pages", pages)
	}
}
