package nodetest

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/memdb/memdb/net"
	"github.com/memdb/memdb/node"
)

// graceCluster is three nodes, rf 3, that drop tombstones after grace, with
// a few arcs and anti-entropy every 5 s.
func graceCluster(grace time.Duration) *Cluster {
	return formed(3, 3, func(cfg *node.Config) {
		cfg.Vnodes, cfg.AntiEntropy, cfg.TombstoneGrace = 4, 5*time.Second, grace
	})
}

// setThenDelete sets keys k000..k<n-1> at all, then deletes the first del
// of them at level through node 1.
func setThenDelete(c *Cluster, n, del int, level net.Consistency) {
	c.Quietly(func() {
		for i := range n {
			c.Request(1+i%3, &net.Set{Key: fmt.Appendf(nil, "k%03d", i), Value: []byte("v"), Level: net.All})
		}
		c.Stabilize()
		for i := range del {
			c.Request(1, &net.Delete{Key: fmt.Appendf(nil, "k%03d", i), Level: level})
		}
		c.Stabilize()
	})
}

// held counts, on node id, the first n keys k000.. with any state (a value
// or a tombstone), and those with a live value.
func held(c *Cluster, id, n int) (states, live int) {
	for i := range n {
		if v, ok := c.Node(id).Store().Get(fmt.Appendf(nil, "k%03d", i)); ok {
			states++
			if v.Live() {
				live++
			}
		}
	}
	return states, live
}

// Deleted keys give their memory back: once the grace has passed and every
// replica was seen clean, each node drops the tombstones, keeps the live
// keys, and no tombstone comes back by anti-entropy afterwards (the
// replicas drop at different moments, and digests leave expired ones out).
func TestTombstonesDroppedOnceReplicasClean(t *testing.T) {
	c := graceCluster(30 * time.Second)
	setThenDelete(c, 60, 40, net.All)
	c.Quietly(func() { c.Run(20 * time.Second) })
	for _, id := range []int{1, 2, 3} {
		if states, _ := held(c, id, 60); states != 60 {
			t.Fatalf("node %d holds %d of 60 keys before the grace passed, want all 60 (40 tombstones)", id, states)
		}
	}
	c.Quietly(func() { c.Run(90 * time.Second) })
	for _, id := range []int{1, 2, 3} {
		states, live := held(c, id, 60)
		if states != 20 || live != 20 {
			t.Errorf("node %d holds %d keys (%d live) after the grace, want the 20 live ones only", id, states, live)
		}
		if _, dropped := c.Node(id).Tombstones(); dropped != 40 {
			t.Errorf("node %d dropped %d tombstones, want 40", id, dropped)
		}
	}
	c.Quietly(func() { c.Run(60 * time.Second) })
	for _, id := range []int{1, 2, 3} {
		if states, _ := held(c, id, 60); states != 20 {
			t.Errorf("node %d holds %d keys a minute later, want 20: a dropped tombstone came back", id, states)
		}
	}
}

// A replica that missed the deletes (it was down) keeps the others from
// dropping the tombstones until it is back and compared: it still holds
// the values, and a dropped tombstone would let them back. Once it is back
// it takes the tombstones, and all three drop them; no value comes back.
func TestTombstonesKeptWhileAReplicaIsDown(t *testing.T) {
	c := graceCluster(20 * time.Second)
	setThenDelete(c, 30, 0, net.All)
	c.Crash(3)
	c.Quietly(func() {
		c.Run(5 * time.Second)
		for i := range 30 {
			c.Request(1, &net.Delete{Key: fmt.Appendf(nil, "k%03d", i), Level: net.Quorum})
		}
		c.Stabilize()
		c.Run(2 * time.Minute)
	})
	for _, id := range []int{1, 2} {
		if states, live := held(c, id, 30); states != 30 || live != 0 {
			t.Fatalf("node %d holds %d keys (%d live) with node 3 down past the grace, want 30 tombstones", id, states, live)
		}
	}
	c.Start(3)
	c.Quietly(func() { c.Run(3 * time.Minute) })
	for _, id := range []int{1, 2, 3} {
		if states, live := held(c, id, 30); states != 0 || live != 0 {
			t.Errorf("node %d holds %d keys (%d live) after node 3 came back and the grace passed, want none", id, states, live)
		}
	}
	for i := range 30 {
		k := fmt.Sprintf("k%03d", i)
		if got := c.read(3, k); got != "value current=none" {
			t.Fatalf("a quorum read of %s through node 3 answered %s, want value current=none (not found)", k, got)
		}
	}
}

// A node forgets what a movement took from it: after node 3 joins a ring
// of two (rf 2), nodes 1 and 2 hold only the keys they still replicate,
// node 3 holds the rest, and every key still reads back.
func TestMovedKeysForgotten(t *testing.T) {
	c := joinedThird(t)
	moved := 0
	for i := range 60 {
		key := fmt.Appendf(nil, "k%03d", i)
		owners := c.Node(3).Replicas(key)
		for _, id := range []int{1, 2, 3} {
			_, ok := c.Node(id).Store().Get(key)
			if mine := slices.Contains(owners, uint16(id)); ok != mine {
				t.Errorf("%s (owners %v): node %d holds it %v", key, owners, id, ok)
			}
		}
		if !slices.Contains(owners, 1) || !slices.Contains(owners, 2) {
			moved++
		}
		if got := c.read(1, string(key)); got != "value current=v" && !strings.HasPrefix(got, "value current=v@") {
			t.Errorf("%s reads %s after the join, want v", key, got)
		}
	}
	if moved == 0 {
		t.Fatal("no key moved to node 3: the test checks nothing")
	}
}

// joinedThird is nodes 1 and 2, rf 2, that drop tombstones after 20 s,
// holding k000..k059, once node 3 has joined them.
func joinedThird(t *testing.T) *Cluster {
	t.Helper()
	grace := func(cfg *node.Config) {
		cfg.Vnodes, cfg.AntiEntropy, cfg.TombstoneGrace = 4, 5*time.Second, 20*time.Second
	}
	c := formed(2, 2, grace)
	c.Quietly(func() {
		for i := range 60 {
			c.Request(1+i%2, &net.Set{Key: fmt.Appendf(nil, "k%03d", i), Value: []byte("v"), Level: net.All})
		}
		c.Stabilize()
	})
	c.Configure = grace
	c.AddNodes(1, 2)
	c.Quietly(func() {
		c.Start(3)
		c.Run(40 * time.Second)
	})
	if !c.Node(3).Normal() {
		t.Fatalf("node 3 did not finish its join:\n%s", c.Status())
	}
	return c
}
