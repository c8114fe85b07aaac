package nodetest

import (
	"testing"
	"time"

	"github.com/memdb/memdb/net"
	"github.com/memdb/memdb/node"
)

// A compaction that begins while an increment's record waits for its sync
// must carry the record (the key's state does not hold it yet): a crash
// after the swap must not lose the acknowledged increment (found by review:
// it did, until increments in flight joined node.unapplied).
func TestCounterCompactionKeepsAnIncrementInFlight(t *testing.T) {
	c := formed(3, 3, noAntiEntropy)
	r1 := c.Request(1, incr(7, 1, 0, 1, 5)) // appended, sync pending
	h := c.host(1)
	c.step("compact n1", true, func() {
		h.call(func() {
			h.n.Compact(func(r node.CompactResult, err error) { c.effect("n1 compacted: keys=%d err=%v", r.Keys, err) })
		})
	})
	c.Stabilize()
	t.Logf("incr: %v", FormatMessage(c.Replies[r1]))
	t.Logf("before crash: %s", c.Store(1, "c"))
	c.Crash(1)
	c.Start(1)
	t.Logf("right after restart: %s", c.Store(1, "c"))
	c.Run(10 * time.Second)
	t.Logf("after restart: %s", c.Store(1, "c"))
	r2 := c.Request(1, incr(7, 2, 0, 1, 1))
	c.Stabilize()
	t.Logf("second incr: %v", FormatMessage(c.Replies[r2]))
	r3 := c.Request(2, &net.GetCounter{Key: []byte("c"), Level: net.All})
	c.Stabilize()
	t.Logf("read at all: %v", FormatMessage(c.Replies[r3]))
	if cv, ok := c.Replies[r3].(*net.CounterValue); !ok || cv.Value != 6 {
		t.Errorf("want 6 after acknowledged +5 and +1, got %v", FormatMessage(c.Replies[r3]))
	}
}
