package nodetest

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/memdb/memdb/net"
)

// A joiner's reconcile compares every version with every owner, whatever
// its own clock (PAPER §4, bug 52; found by `churn` and `chaos` seed 116).
// Node 1 holds increments and writes that node 2 missed, their hints lost
// in a crash, stamped by a clock that jumped past node 1's lease at its
// restart. Node 3 started while node 1 was down and heard of nobody, so
// its clock four seconds before its reconcile — the anti-entropy horizon
// — is far below those stamps. It streams some of the arcs it takes from
// node 2, then compares with node 1, which gives those arcs up. With the
// horizon in that comparison both digests left the keys out, so the
// keys of the arcs node 1 gave up were on no replica at all.
func TestJoinReconcileIgnoresTheHorizon(t *testing.T) {
	c := New()
	c.Configure = noAntiEntropy // the join's reconcile is the only comparison
	c.AddNodes(3, 2)
	c.Start(1)
	c.Start(2)
	c.Run(10 * time.Second)
	// A restart takes node 1's clock past its lease, far ahead of a new
	// node's.
	c.Crash(1)
	c.Start(1)
	c.Run(5 * time.Second)
	const keys = 32
	var written []string
	c.Quietly(func() {
		for i := range keys {
			k := fmt.Sprintf("c%02d", i)
			var m net.Message = &net.Incr{Key: []byte(k), Delta: 1, Level: net.One, Session: 7, Seq: uint64(i + 1)}
			if i%2 == 1 {
				k = fmt.Sprintf("k%02d", i)
				m = &net.Set{Key: []byte(k), Value: []byte("v"), Level: net.One}
			}
			r := c.Request(1, m)
			c.stabilizeDropping(Filter{From: 1, To: 2, Kinds: []net.Kind{net.KindReplicate}})
			switch c.Replies[r].(type) {
			case *net.CounterValue, *net.Done:
				written = append(written, k)
			default:
				t.Fatalf("%s at level one on node 1: %s", k, FormatMessage(c.Replies[r]))
			}
		}
	})
	for _, k := range written {
		if _, ok := c.Node(2).Store().Get([]byte(k)); ok {
			t.Fatalf("node 2 got %s: the test no longer leaves node 1 the only holder", k)
		}
	}
	if stamp := c.Node(1).Clock(); stamp.Counter < 1<<20 {
		t.Fatalf("node 1's clock is %v after a restart: the test needs it past a lease", stamp)
	}
	// Node 1 goes down with its hints for node 2; node 3 starts, cut off
	// (its seed is down), and runs long enough to have a horizon.
	c.Crash(1)
	c.Start(3)
	c.Run(6 * time.Second)
	lag := c.Node(3).Clock()
	c.Start(1)
	c.Run(30 * time.Second)
	if !c.Node(3).Normal() {
		t.Fatalf("node 3 did not finish its join:\n%s", c.Status())
	}
	t.Logf("node 3's clock while cut off: %v; node 1's now: %v", lag, c.Node(1).Clock())
	lost, moved := 0, 0
	for _, k := range written {
		reps := c.Node(3).Replicas([]byte(k))
		if !slices.Contains(reps, 1) {
			moved++
		}
		if !slices.Contains(reps, 3) {
			continue
		}
		// Node 3 compared with every owner of what it took, node 1
		// included: it holds everything they held.
		if _, ok := c.Node(3).Store().Get([]byte(k)); !ok {
			lost++
			t.Errorf("%s: node 3, a replica (%v), has nothing of it after its join, though node 1 held it", k, reps)
		}
	}
	if moved == 0 {
		t.Fatal("no key left node 1 in the join: the test no longer exercises a hand-off")
	}
	t.Logf("%d of %d keys left node 1 for node 3; node 3 lacks %d of the keys it replicates", moved, len(written), lost)
}

// stabilizeDropping is Stabilize, but the messages that match f are lost.
func (c *Cluster) stabilizeDropping(f Filter) {
	for {
		did := c.Deliver(f, -1, true, false)
		did += c.Deliver(Filter{Gossip: true}, -1, false, false)
		for _, id := range c.IDs() {
			did += c.syncDisk(int(id), -1, false)
		}
		if did == 0 {
			return
		}
	}
}
