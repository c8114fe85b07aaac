package sim

import (
	"testing"
	"time"

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

// TestRoutedFirstConnBrokenBeforeUp: a routed client whose first
// connection breaks after the node accepted it but before the client heard
// it was up (its node crashed in between) connects again and goes on to
// think, instead of waiting for ever (failover seeds 2390 and 2505).
func TestRoutedFirstConnBrokenBeforeUp(t *testing.T) {
	w := &world{
		p: Params{Seed: 1, Nodes: 2, RF: 1, Client: ClientParams{
			Failover: true, Backoff: 10 * time.Millisecond, ThinkMax: time.Hour,
		}, Net: NetParams{LatencyMedian: time.Millisecond, LatencyMax: time.Second}},
		net:   Stream(1, "net"),
		conns: map[net.ConnID]*conn{},
	}
	for i := range 2 {
		w.hosts = append(w.hosts, &host{w: w, id: net.NodeID(i + 1), up: true})
	}
	cl := newClient(w, 1)
	cl.connect()
	h := cl.h
	for len(h.conns) == 0 && w.now < time.Second {
		w.runUntil(w.now + time.Microsecond)
	}
	if len(h.conns) != 1 || len(cl.pool) != 0 {
		t.Fatalf("node %d accepted %d connections, the client heard of %d; want 1 and 0", h.id, len(h.conns), len(cl.pool))
	}
	w.breakConn(h.conns[0], "node crashed", false) // as host.crash does
	w.runUntil(time.Second)
	if !cl.thinking {
		t.Fatalf("client is not thinking a second later: pool %v, pending %v", cl.pool, cl.pending)
	}
	if c := cl.pool[2]; c == nil || !c.open || len(cl.pool) != 1 {
		t.Errorf("client's connections: %v; want one, open, to node 2 (node 1 broke one)", cl.pool)
	}
}
