package nodetest

import (
	"strings"
	"testing"
	"time"

	"github.com/memdb/memdb/net"
)

// The sweeper times a key, not an intent: a key that has held an intent (an
// aborted batch's marker, which stays until a later write) for a long time
// has every new batch's intent swept at the next sweep tick, long before
// sweepAfter request timeouts, so a live coordinator's batch is aborted.
func TestBatchSweeperTimesEachIntent(t *testing.T) {
	c := formed(3, 3, noAntiEntropy)
	// 1. An abandoned batch leaves aborted markers on a and b.
	c.Quietly(func() {
		c.Request(1, batch("token-old1", "a", "v1", "b", "v1"))
		c.Deliver(Filter{Kinds: []net.Kind{net.KindReplicate}}, -1, false, false)
		for _, id := range []int{2, 3} {
			c.SyncDisk(id, -1)
		}
		c.Crash(1)
		c.Run(30 * time.Second)
		c.Start(1)
		c.Run(10 * time.Second)
	})
	if n := c.undecided(); n != 0 {
		t.Fatalf("setup: %d undecided", n)
	}
	t.Logf("a on n2 after the abort: %s", c.Store(2, "a"))
	swept := c.Node(2).Stats().IntentsSwept + c.Node(3).Stats().IntentsSwept
	// 2. A new batch through the live node 1: its intents reach n2 and n3,
	// its acknowledgements are still on their way when 600 ms pass.
	var r uint64
	c.Quietly(func() {
		r = c.Request(1, batch("token-new2", "a", "v2", "b", "v2"))
		c.Deliver(Filter{From: 1, Kinds: []net.Kind{net.KindReplicate}}, -1, false, false)
		for _, id := range []int{1, 2, 3} {
			c.SyncDisk(id, -1)
		}
		c.Advance(600 * time.Millisecond)
		// Messages between n2 and n3 only (n1's are slow).
		for range 1000 {
			did := c.Deliver(Filter{From: 2, To: 3}, -1, false, false) + c.Deliver(Filter{From: 3, To: 2}, -1, false, false)
			did += c.Deliver(Filter{From: 2, To: 2}, -1, false, false) + c.Deliver(Filter{From: 3, To: 3}, -1, false, false)
			did += c.SyncDisk(2, -1) + c.SyncDisk(3, -1)
			if did == 0 {
				break
			}
		}
		c.Stabilize()
		c.Run(2 * time.Second)
	})
	swept2 := c.Node(2).Stats().IntentsSwept + c.Node(3).Stats().IntentsSwept
	t.Logf("batch through a live coordinator, 0.6 s old: %s; intents swept %d -> %d", FormatMessage(c.Replies[r]), swept, swept2)
	if swept2 > swept {
		t.Errorf("a sweeper swept an intent 0.6 s old (sweepAfter is %d request timeouts)", 4)
	}
	if e, ok := c.Replies[r].(*net.Error); ok && strings.Contains(e.Message, "aborted") {
		t.Errorf("a live coordinator's batch was aborted by a sweeper: %s", FormatMessage(e))
	}
}
