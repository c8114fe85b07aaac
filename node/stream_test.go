package node

import (
	"testing"

	"github.com/memdb/memdb/net"
	"github.com/memdb/memdb/node/stream"
)

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
	if want := stream.Digests(h.n.store, spans); !ok || len(r.Sums) != 2 || r.Sums[0] != want[0] || r.Sums[1] != want[1] {
		t.Errorf("digest at the node's epoch answered %#v, want %v", got[0], want)
	}
	if e, ok := got[1].(*net.Error); !ok || e.Code != net.CodeUnavailable {
		t.Errorf("digest from another ring answered %#v, want unavailable", got[1])
	}
}
