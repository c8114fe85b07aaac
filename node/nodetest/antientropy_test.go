package nodetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/memdb/memdb/net"
	"github.com/memdb/memdb/node"
)

// Anti-entropy pulls what differs, not whole arcs: two replicas of 4,000
// keys on arcs of about 500 keys each differ in one key (its write reached
// node 1 only, its hint dropped); a round narrows the differing arc to
// sub-spans and pulls a few dozen keys at most, not the arc.
func TestAntiEntropyNarrows(t *testing.T) {
	c := formed(2, 2, func(cfg *node.Config) {
		cfg.Vnodes, cfg.AntiEntropy, cfg.HintBytes = 4, 5*time.Second, 1
	})
	const keys = 4000
	c.Quietly(func() {
		for i := range keys {
			c.Request(1+i%2, &net.Set{Key: fmt.Appendf(nil, "k%05d", i), Value: []byte("v"), Level: net.All})
			if i%100 == 99 {
				c.Stabilize()
			}
		}
		c.Stabilize()
		// The one difference: node 2 never gets the write, nor its hint.
		c.Request(1, &net.Set{Key: []byte("k00042"), Value: []byte("new"), Level: net.One})
		c.Deliver(Filter{From: 1, To: 2, Kinds: []net.Kind{net.KindReplicate}}, -1, true, false)
		c.Stabilize()
	})
	before := c.Node(2).Stats()
	if v, _ := c.Node(2).Store().Get([]byte("k00042")); string(v.Value) == "new" {
		t.Fatal("node 2 got the write: the test no longer makes a difference")
	}
	c.Quietly(func() { c.Run(15 * time.Second) })
	after := c.Node(2).Stats()
	if v, _ := c.Node(2).Store().Get([]byte("k00042")); string(v.Value) != "new" {
		t.Fatalf("node 2 has k00042 = %q after anti-entropy, want new", v.Value)
	}
	in := after.StreamedIn - before.StreamedIn
	t.Logf("node 2: %d arcs differed, %d sub-spans pulled, %d entries streamed in", after.RepairArcs-before.RepairArcs, after.RepairSpans-before.RepairSpans, in)
	if in > keys/16 || after.RepairSpans == before.RepairSpans {
		t.Errorf("node 2 streamed in %d entries to repair one key (%d sub-spans pulled): want a few, not an arc's ~%d", in, after.RepairSpans-before.RepairSpans, keys/8)
	}
}
