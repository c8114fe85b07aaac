package node

import (
	"fmt"
	"testing"

	"github.com/memdb/memdb/net"
	"github.com/memdb/memdb/node/ring"
	"github.com/memdb/memdb/node/store"
)

// digests sums each key's version hash into the arc that holds it: the
// whole ring's digest is the sum over every key, arcs that cut the ring
// (one of them across zero) add up to it, and a changed value changes the
// digest of its arc only.
func TestDigests(t *testing.T) {
	h := newHarness(t)
	h.drain()
	for i := range 200 {
		h.request(uint64(i+1), &net.Set{Key: []byte(fmt.Sprintf("k%d", i)), Value: []byte("v")})
	}
	h.request(1000, &net.Delete{Key: []byte("k7")})
	h.drain()
	whole := h.n.digests([]net.Span{{Start: 5, End: 5}})[0]
	var want uint64
	for _, k := range h.n.store.Keys() {
		v, _ := h.n.store.Get([]byte(k))
		want += store.Hash([]byte(k), v)
	}
	if whole != want || whole == 0 {
		t.Fatalf("digest of the whole ring %x, want the sum over every key %x", whole, want)
	}
	cuts := []net.Span{{Start: 1 << 62, End: 1 << 63}, {Start: 3 << 62, End: 1 << 62}, {Start: 1 << 63, End: 3 << 62}}
	parts := h.n.digests(cuts)
	if parts[0]+parts[1]+parts[2] != whole {
		t.Fatalf("arcs %v sum to %x, the whole ring to %x", parts, parts[0]+parts[1]+parts[2], whole)
	}
	key := []byte("k3")
	h.request(2000, &net.Set{Key: key, Value: []byte("changed")})
	h.drain()
	after := h.n.digests(cuts)
	for i, s := range cuts {
		in := (ring.Range{Start: s.Start, End: s.End}).Contains(ring.Hash(key))
		if changed := after[i] != parts[i]; changed != in {
			t.Errorf("arc %v holds k3: %v; its digest changed: %v", s, in, changed)
		}
	}
}

// A peer answers a Digest at its own ring epoch with one digest per span,
// and refuses one from another ring.
func TestDigestFrom(t *testing.T) {
	h := newHarness(t)
	h.request(1, &net.Set{Key: []byte("k"), Value: []byte("v")})
	h.drain()
	spans := []net.Span{{Start: 0, End: 1 << 63}, {Start: 1 << 63, End: 0}}
	h.n.Deliver(2, net.Frame{ID: 7, Msg: &net.Digest{Epoch: h.n.view.Epoch, Spans: spans}})
	h.n.Deliver(2, net.Frame{ID: 8, Msg: &net.Digest{Epoch: h.n.view.Epoch + 1, Spans: spans}})
	var got []net.Message
	for _, f := range h.sent {
		if f.ID == 7 || f.ID == 8 {
			got = append(got, f.Msg)
		}
	}
	if len(got) != 2 {
		t.Fatalf("answers %v, want two", got)
	}
	r, ok := got[0].(*net.DigestReply)
	if want := h.n.digests(spans); !ok || len(r.Sums) != 2 || r.Sums[0] != want[0] || r.Sums[1] != want[1] {
		t.Errorf("digest at the node's epoch answered %#v, want %v", got[0], want)
	}
	if e, ok := got[1].(*net.Error); !ok || e.Code != net.CodeUnavailable {
		t.Errorf("digest from another ring answered %#v, want unavailable", got[1])
	}
}
