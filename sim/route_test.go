package sim

import (
	"testing"

	"github.com/memdb/memdb/net"
)

// TestRouteOrder: with no ring learned yet, a routed client tries the
// nodes in id order, skips those tried and those gone, and puts a node
// that refused or broke a connection within a Backoff last.
func TestRouteOrder(t *testing.T) {
	w := &world{p: Params{Nodes: 4, RF: 3, Client: ClientParams{Backoff: 100}}}
	for i := range 4 {
		w.hosts = append(w.hosts, &host{w: w, id: net.NodeID(i + 1)})
	}
	cl := &client{w: w, idx: 1, h: w.hosts[0]}
	id := func(h *host) net.NodeID {
		if h == nil {
			return 0
		}
		return h.id
	}
	if got := id(cl.next("k0", nil)); got != 1 {
		t.Errorf("first: node %d, want 1", got)
	}
	if got := id(cl.next("k0", []net.NodeID{1})); got != 2 {
		t.Errorf("after 1: node %d, want 2", got)
	}
	w.hosts[1].gone = true
	if got := id(cl.next("k0", []net.NodeID{1})); got != 3 {
		t.Errorf("after 1, with 2 gone: node %d, want 3", got)
	}
	cl.down(3)
	if got := id(cl.next("k0", []net.NodeID{1})); got != 4 {
		t.Errorf("after 1, 2 gone, 3 down: node %d, want 4", got)
	}
	if got := id(cl.next("k0", []net.NodeID{1, 4})); got != 3 {
		t.Errorf("only 3 left, down: node %d, want 3 (down nodes come last, not never)", got)
	}
	if got := id(cl.next("k0", []net.NodeID{1, 3, 4})); got != 0 {
		t.Errorf("every node tried or gone: node %d, want none", got)
	}
	w.now = 200 // the Backoff passed
	if got := id(cl.next("k0", []net.NodeID{1})); got != 3 {
		t.Errorf("3 up again: node %d, want 3", got)
	}
}
