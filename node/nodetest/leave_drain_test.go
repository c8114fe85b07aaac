package nodetest

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/memdb/memdb/net"
)

// A leave is done — and the host stops the node for good — only once the
// writes the node coordinated have reached their replicas or been hinted
// and the hints delivered (chaos seed 2495, churn 1270). Node 4, leaving,
// coordinates a write at level one just before it turns left; one
// replica's copy is lost. The write's timer would hint it 2 s later, but
// the leave used to be done 1.5 s after the node turned left: stopped
// then, it took the hint with it, and with no anti-entropy the replica
// never got the write.
func TestLeaveDoneOnlyOnceWritesHandedOn(t *testing.T) {
	c := formed(4, 2, noAntiEntropy)
	var key []byte
	var reps []uint16
	for i := 0; key == nil; i++ {
		k := fmt.Appendf(nil, "k%d", i)
		if reps = c.Node(4).Replicas(k); !slices.Contains(reps, 4) {
			key = k
		}
	}
	lost := net.NodeID(reps[1])
	h := c.host(4)
	done := false
	step := func() {
		c.Advance(50 * time.Millisecond)
		c.Stabilize()
		if done && h.up {
			c.Crash(4) // as the host does once the leave is done
		}
	}
	var req uint64
	c.Quietly(func() {
		c.startLeave(t, 4, &done, step)
		// It hands its ranges off 1.5 s after it turned leaving, and then
		// turns left at once (a perfect network, instant disks).
		for range 28 {
			step()
		}
		if c.Node(4).HasLeft() {
			t.Fatalf("node 4 turned left sooner than the test expects:\n%s", c.Status())
		}
		req = c.Request(4, &net.Set{Key: key, Value: []byte("v"), Level: net.One})
		if c.Deliver(Filter{From: 4, To: lost, Kinds: []net.Kind{net.KindReplicate}}, -1, true, false) != 1 {
			t.Fatalf("no write to node %d to lose", lost)
		}
		var late uint64
		for i := 0; !done; i++ {
			if i == 400 {
				t.Fatalf("node 4's leave was not done in 20 s:\n%s", c.Status())
			}
			if late == 0 && c.Node(4).HasLeft() {
				// Once left it takes no new requests, which would keep
				// its leave waiting.
				late = c.Request(4, &net.Set{Key: key, Value: []byte("late"), Level: net.One})
				if e, ok := c.Replies[late].(*net.Error); !ok || e.Code != net.CodeShuttingDown {
					t.Errorf("node 4, left, answered a write %v, want shutting down", c.Replies[late])
				}
			}
			step()
		}
		if late == 0 {
			t.Fatalf("node 4's leave was done before it was seen left")
		}
		if _, ok := c.Replies[req].(*net.Done); !ok {
			t.Fatalf("the write was answered %v, want done", c.Replies[req])
		}
		c.Run(10 * time.Second)
	})
	for _, r := range reps {
		if v, ok := c.Node(int(r)).Store().Get(key); !ok || string(v.Value) != "v" {
			t.Errorf("replica %d of %q holds %+v, not the write node 4 acknowledged before its leave was done", r, key, v)
		}
	}
}
