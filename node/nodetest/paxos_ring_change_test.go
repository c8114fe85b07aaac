package nodetest

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/memdb/memdb/clock"
	"github.com/memdb/memdb/net"
	"github.com/memdb/memdb/node"
	"github.com/memdb/memdb/node/movement"
	"github.com/memdb/memdb/node/ring"
)

// A Paxos attempt picks the key's acceptors from the node's view, waits
// for its ballot (here a lease renewal: a sync of the coordinator's log),
// and then sends its prepare stamped with the ring epoch of the moment.
// When the ring changed during the wait, the prepare went to the old
// acceptors stamped with the new epoch, so none of them fenced it: an
// acceptor that no longer replicates the key promised with its stale
// state (cas-churn seed 5272: a joiner whose first view held one member
// answered a serial contains false from that member, not the key's
// replica). Here node 3 joins while node c's compare-and-set of k waits
// for its ballot, and k moves from node r to node 3; node 3 then changes
// k (v1 to v2). Node c's compare-and-set, expecting v1, must not succeed
// on node r's stale copy.
func TestPaxosRingChangeWhileBallotWaits(t *testing.T) {
	c, key, r, co := ringChangeCluster(t, nil, false)
	h := c.host(co)
	c.nextReq++
	late := c.nextReq
	none := func(Msg) bool { return false }
	c.Quietly(func() {
		// A session clock past node co's lease: the ballot waits for a
		// renewal, which waits for node co's disk.
		h.call(func() {
			h.n.Request(net.ConnID(late), net.Frame{ID: late, Clock: clock.Timestamp{Counter: 1 << 40},
				Msg: &net.CAS{Key: key, OldFound: true, Old: []byte("v1"), New: []byte("v3")}})
		})
		before := c.Node(co).Epoch()
		joinHolding(t, c, co, none)
		if c.Replies[late] != nil {
			t.Fatalf("the cas was answered before its ballot (the test no longer reaches the case): %s", FormatMessage(c.Replies[late]))
		}
		t.Logf("node %d's epoch: %d when the cas came, %d now", co, before, c.Node(co).Epoch())
		changeOnNode3(t, c, key, co, none)
		// Node co's disk comes back: its ballot is reserved, and its
		// round goes on.
		c.Run(10 * time.Second)
	})
	if m, ok := c.Replies[late].(*net.Bool); ok && m.Value {
		t.Errorf("node %d's cas of %s from v1 succeeded after node 3 had changed it from v1 to v2: its prepare went to node %d, no longer a replica, on the new ring's epoch\n%s",
			co, key, r, c.Status())
	} else {
		t.Logf("node %d's cas: %s", co, FormatMessage(c.Replies[late]))
	}
}

// The same hazard in the next phase: node c's prepare reaches node r, k's
// replica, and is promised; the promise is held up while node 3 joins and
// k moves to it, node c hears of the new ring, and node 3 changes k from
// v1 to v2. When the promise arrives, node c proposes to the acceptors of
// its prepare. Stamped with the new ring's epoch, the proposal was taken
// by node r, no longer a replica, and chosen: both compare-and-sets from
// v1 succeeded. Stamped with the epoch of the ring its acceptors came
// from, node r fences it, and the outcome is unknown.
func TestPaxosRingChangeBeforePropose(t *testing.T) {
	// Requests wait long enough for the join: node c's phase would
	// otherwise count node r silent and try again.
	c, key, r, co := ringChangeCluster(t, func(cfg *node.Config) { cfg.RequestTimeout = 5 * time.Minute }, false)
	promise := func(m Msg) bool {
		return m.From == net.NodeID(r) && m.To == net.NodeID(co) && m.Kind == net.KindPromise
	}
	var late uint64
	c.Quietly(func() {
		late = c.Request(co, &net.CAS{Key: key, OldFound: true, Old: []byte("v1"), New: []byte("v3")})
		for c.deliverBut(promise)+c.syncDisk(r, -1, false)+c.syncDisk(co, -1, false) > 0 {
		}
		if len(c.heldMsgs(promise)) == 0 {
			t.Fatalf("node %d never promised node %d's ballot:\n%s", r, co, c.Status())
		}
		joinHolding(t, c, co, promise)
		changeOnNode3(t, c, key, co, promise)
		if c.Replies[late] != nil {
			t.Fatalf("node %d's cas was answered before its promise came (the test no longer reaches the case): %s", co, FormatMessage(c.Replies[late]))
		}
		c.Stabilize()
	})
	if m, ok := c.Replies[late].(*net.Bool); ok && m.Value {
		t.Errorf("node %d's cas of %s from v1 succeeded after node 3 had changed it from v1 to v2: its proposal went to node %d, no longer a replica, on the new ring's epoch\n%s",
			co, key, r, c.Status())
	} else {
		t.Logf("node %d's cas: %s", co, FormatMessage(c.Replies[late]))
	}
}

// The same with the coordinator's own acceptor: node r, k's replica,
// coordinates a compare-and-set of k and promises its own ballot; the
// promise's sync is held up while node 3 joins and takes k, and node 3
// changes k from v1 to v2. When the sync completes, node r proposes to
// itself. Its own acceptor took a proposal of the old ring unfenced, as a
// peer must not, and chose it: both compare-and-sets from v1 succeeded.
func TestPaxosRingChangeBeforeOwnPropose(t *testing.T) {
	c, key, r, _ := ringChangeCluster(t, func(cfg *node.Config) { cfg.RequestTimeout = 5 * time.Minute }, true)
	none := func(Msg) bool { return false }
	var late uint64
	c.Quietly(func() {
		late = c.Request(r, &net.CAS{Key: key, OldFound: true, Old: []byte("v1"), New: []byte("v3")})
		if c.Deliver(Filter{}, -1, false, false) != 0 {
			t.Fatalf("node %d asked a peer: the test wants its own acceptor alone\n%s", r, c.Status())
		}
		joinHolding(t, c, r, none)
		changeOnNode3(t, c, key, r, none)
		if c.Replies[late] != nil {
			t.Fatalf("node %d's cas was answered before its promise was synced (the test no longer reaches the case): %s", r, FormatMessage(c.Replies[late]))
		}
		c.Stabilize()
	})
	if m, ok := c.Replies[late].(*net.Bool); ok && m.Value {
		t.Errorf("node %d's cas of %s from v1 succeeded after node 3 had changed it from v1 to v2: its own acceptor, no longer a replica, took the proposal of the old ring\n%s",
			r, key, c.Status())
	} else {
		t.Logf("node %d's cas: %s", r, FormatMessage(c.Replies[late]))
	}
}

// ringChangeCluster forms nodes 1 and 2 at replication factor one, node 3
// not started, and sets k to v1 on r, its replica. k moves to node 3 when
// node 3 joins. Node c, the coordinator, is the other node, which neither
// holds the movement lock nor replicates k; or, if coordinateOnReplica,
// node r itself, and the lock is on the other node.
func ringChangeCluster(t *testing.T, configure func(*node.Config), coordinateOnReplica bool) (c *Cluster, key []byte, r, co int) {
	t.Helper()
	c = New()
	c.Configure = func(cfg *node.Config) {
		noAntiEntropy(cfg)
		if configure != nil {
			configure(cfg)
		}
	}
	c.AddNodes(3, 1)
	c.Start(1)
	c.Start(2)
	c.Run(10 * time.Second)
	after, err := ring.New(1, ring.Virtual([]uint16{1, 2, 3}, c.host(1).cfg.Vnodes))
	if err != nil {
		t.Fatal(err)
	}
	lock := c.Node(1).Replicas([]byte(movement.Key))
	for i := 0; key == nil; i++ {
		k := fmt.Appendf(nil, "k%d", i)
		if i == 10000 {
			t.Fatal("no key moves to node 3 from the node that replicates the lock")
		}
		now := c.Node(1).Replicas(k)
		if len(now) != 1 || !slices.Equal(after.Replicas(k, 1), []uint16{3}) || slices.Equal(now, lock) == coordinateOnReplica {
			continue
		}
		key, r, co = k, int(now[0]), 3-int(now[0])
		if coordinateOnReplica {
			co = r
		}
	}
	t.Logf("key %s: replica %d, then 3; coordinator %d; lock on %v", key, r, co, lock)
	c.Quietly(func() {
		v1 := c.Request(r, &net.CAS{Key: key, OldFound: false, New: []byte("v1")})
		c.Stabilize()
		if m, ok := c.Replies[v1].(*net.Bool); !ok || !m.Value {
			t.Fatalf("cas of v1: %s", FormatMessage(c.Replies[v1]))
		}
	})
	return c, key, r, co
}

// joinHolding starts node 3 and runs until it is normal and node co has
// its ring, delivering every message but those hold matches; node co's
// disk completes nothing.
func joinHolding(t *testing.T, c *Cluster, co int, hold func(Msg) bool) {
	t.Helper()
	c.Start(3)
	for i := 0; !c.Node(3).Normal() || c.Node(co).Epoch() != c.Node(3).Epoch(); i++ {
		if i == 2000 {
			t.Fatalf("node 3 did not join in 100 s while node %d's disk stood still:\n%s", co, c.Status())
		}
		c.deliverBut(hold)
		for _, id := range c.IDs() {
			if int(id) != co {
				c.syncDisk(int(id), -1, false)
			}
		}
		c.Advance(50 * time.Millisecond)
	}
}

// changeOnNode3 has node 3 change key from v1 to v2, delivering every
// message but those hold matches; node co's disk completes nothing.
func changeOnNode3(t *testing.T, c *Cluster, key []byte, co int, hold func(Msg) bool) {
	t.Helper()
	if got := c.Node(co).Replicas(key); !slices.Equal(got, []uint16{3}) {
		t.Fatalf("node %d has %v as the replicas of %s after the join, want [3]", co, got, key)
	}
	v2 := c.Request(3, &net.CAS{Key: key, OldFound: true, Old: []byte("v1"), New: []byte("v2")})
	for i := 0; c.Replies[v2] == nil; i++ {
		if i == 200 {
			t.Fatalf("the cas of v2 was never answered:\n%s", c.Status())
		}
		c.deliverBut(hold)
		for _, id := range c.IDs() {
			if int(id) != co {
				c.syncDisk(int(id), -1, false)
			}
		}
		c.Advance(10 * time.Millisecond)
	}
	if m, ok := c.Replies[v2].(*net.Bool); !ok || !m.Value {
		t.Fatalf("cas of v2 on node 3: %s", FormatMessage(c.Replies[v2]))
	}
}

// deliverBut delivers every queued message, gossip included, but those
// hold matches, which stay queued.
func (c *Cluster) deliverBut(hold func(Msg) bool) int {
	var picked []Msg
	rest := c.msgs[:0:0]
	for _, m := range c.msgs {
		if hold(m) {
			rest = append(rest, m)
		} else {
			picked = append(picked, m)
		}
	}
	c.msgs = rest
	for _, m := range picked {
		c.deliver(m, false, false)
	}
	return len(picked)
}

// heldMsgs is the queued messages hold matches.
func (c *Cluster) heldMsgs(hold func(Msg) bool) []Msg {
	var out []Msg
	for _, m := range c.msgs {
		if hold(m) {
			out = append(out, m)
		}
	}
	return out
}
