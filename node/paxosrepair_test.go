package node

import (
	"slices"
	"strings"
	"testing"

	"github.com/memdb/memdb/net"
	"github.com/memdb/memdb/node/paxos/repair"
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
	h.n.repairs.Finish([]string{"k"}, func(repaired bool) { ok = &repaired })
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

// PaxosKeys answers in pages of about repair.PageBytes bytes, each at least
// one key, and Driver.Keys follows them to the end: a peer with many large
// accepted values never builds a frame past the limit.
func TestPaxosKeysPages(t *testing.T) {
	h := newHarness(t)
	h.drain()
	big := strings.Repeat("v", repair.PageBytes/3)
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
			t.Fatalf("page after %q: %s", after, net.Describe(h.sent[0].Msg))
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
			t.Errorf("a page of %d keys of %d bytes each, over the %d-byte page", len(p), len(big), repair.PageBytes)
		}
		got = append(got, p...)
	}
	if len(pages) < 3 || !slices.Equal(got, want) {
		t.Fatalf("pages %v, want every key once, in order, in 3 or more pages", pages)
	}
}

// Paxos repair runs its keys' rounds side by side, up to repair.InFlight:
// eight keys in progress take at most twice the disk round trips of one
// (the log syncs one group at a time, so records appended while a sync is
// under way wait for the next), not eight times. One at a time, a list of
// batch records cost a join 23 s of rounds on a lossy network and the
// simulator's liveness window (batch seed 15).
func TestPaxosRepairRunsKeysTogether(t *testing.T) {
	rounds := func(keys int) int {
		h := newHarness(t)
		h.drain()
		var list []string
		for i := range keys {
			k := string(rune('a' + i))
			h.acceptAt(k, "v"+k, h.ballotPast(uint64(1+i)))
			list = append(list, k)
		}
		var ok *bool
		h.n.repairs.Finish(list, func(repaired bool) { ok = &repaired })
		n := 0
		for ok == nil && len(h.pending) > 0 {
			// One round trip to the disk: the syncs pending now, not those
			// they lead to.
			due := h.pending
			h.pending = nil
			for _, f := range due {
				f()
			}
			n++
		}
		if ok == nil || !*ok {
			t.Fatalf("repair of %d keys: done %v", keys, ok)
		}
		h.drain() // the commits, written behind
		for _, k := range list {
			if v, _ := h.n.store.Get([]byte(k)); string(v.Value) != "v"+k {
				t.Fatalf("after repair %s = %q, want its proposal committed", k, v.Value)
			}
		}
		if h.n.stats.PaxosRepaired != uint64(keys) {
			t.Fatalf("repaired %d of %d keys", h.n.stats.PaxosRepaired, keys)
		}
		return n
	}
	one, eight := rounds(1), rounds(8)
	if one == 0 || eight > 2*one {
		t.Fatalf("repair took %d disk round trips for 8 keys and %d for one; want at most twice as many", eight, one)
	}
}
