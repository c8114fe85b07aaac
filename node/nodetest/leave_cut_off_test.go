package nodetest

import (
	"testing"
	"time"
)

// A leave is done — and the host stops the node for good — only once the
// other members know it left (PAPER §4 bug 55; cas-churn and cas-chaos
// seed 1082). Node 4, rf 1 and no data, turns leaving and is then cut off
// from every other node: its hand-off and Paxos repair need no peer, so it
// turns left alone. It used to report the leave done 1.5 s later; stopped
// then, it stayed leaving on every other member for good, holding the
// movement lock, and no join could ever run again.
func TestLeaveDoneOnlyOnceOthersKnow(t *testing.T) {
	c := formed(4, 1, noAntiEntropy)
	done := false
	c.Quietly(func() {
		c.startLeave(t, 4, &done, func() {
			c.Advance(50 * time.Millisecond)
			c.Stabilize()
		})
		// Stabilize, but everything node 4 sends or is sent is lost.
		cutOff := func() {
			for {
				did := c.Deliver(Filter{From: 4, Gossip: true}, -1, true, false)
				did += c.Deliver(Filter{To: 4, Gossip: true}, -1, true, false)
				did += c.Deliver(Filter{Gossip: true}, -1, false, false)
				for _, id := range c.IDs() {
					did += c.syncDisk(int(id), -1, false)
				}
				if did == 0 {
					return
				}
			}
		}
		for range 200 { // 10 s cut off
			cutOff()
			c.Advance(50 * time.Millisecond)
		}
		cutOff()
		if !c.Node(4).HasLeft() {
			t.Fatalf("node 4 did not turn left while cut off (the test no longer reaches the case):\n%s", c.Status())
		}
		if done {
			t.Fatalf("node 4's leave was done while cut off, and nodes 1-3 still have it leaving:\n%s", c.Status())
		}
		c.Run(20 * time.Second)
	})
	if !done {
		t.Fatalf("node 4's leave was not done 20 s after it was reachable again:\n%s", c.Status())
	}
	for id := 1; id <= 3; id++ {
		if c.Node(id).Epoch() != c.Node(4).Epoch() {
			t.Errorf("node %d is at ring epoch %d, node 4 (left) at %d:\n%s", id, c.Node(id).Epoch(), c.Node(4).Epoch(), c.Status())
		}
	}
}

// startLeave asks node id to leave, setting *done once its leave is done,
// and calls step (a turn of the cluster) until it has turned leaving.
func (c *Cluster) startLeave(t *testing.T, id int, done *bool, step func()) {
	t.Helper()
	h := c.host(id)
	h.call(func() {
		h.n.Leave(func(err error) {
			if err != nil {
				t.Errorf("node %d's leave: %v", id, err)
			}
			*done = true
		})
	})
	for i := 0; c.Node(id).Normal(); i++ {
		if i == 200 {
			t.Fatalf("node %d did not turn leaving in 10 s:\n%s", id, c.Status())
		}
		step()
	}
}
