package nodetest

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/memdb/memdb/clock"
	"github.com/memdb/memdb/disk"
	"github.com/memdb/memdb/net"
	"github.com/memdb/memdb/node"
)

// formed starts n nodes of replication factor rf, with configure applied
// to each node's config (nil: none), and lets them form a ring.
func formed(n, rf int, configure func(*node.Config)) *Cluster {
	c := New()
	c.Configure = configure
	c.AddNodes(n, rf)
	for _, id := range c.IDs() {
		c.Start(int(id))
	}
	c.Run(10 * time.Second)
	return c
}

// noAntiEntropy leaves repair to what a test does by hand.
func noAntiEntropy(cfg *node.Config) { cfg.AntiEntropy = -1 }

func incr(session, seq uint64, attempt uint32, first uint64, delta int64) *net.Incr {
	return &net.Incr{Key: []byte("c"), Delta: delta, Level: net.Quorum, Session: session, Seq: seq, Attempt: attempt, First: clock.Timestamp{Counter: first}}
}

// A retry of an increment the wiped generation applied, as the first
// increment the rebuilt node sees, must not be applied again (found by
// review: it was, until a node with no generation yet judged retries
// against its clock).
func TestCounterRetryAfterWipeNotApplied(t *testing.T) {
	c := formed(3, 3, nil)
	r := c.Request(1, incr(7, 1, 0, 1, 5))
	c.Stabilize()
	t.Logf("first attempt: %v", FormatMessage(c.Replies[r]))
	// Wipe node 1.
	c.Crash(1)
	h := c.host(1)
	h.mem = disk.NewMem(rand.New(rand.NewPCG(99, 0)), h.schedule)
	c.Start(1)
	c.Run(30 * time.Second)
	t.Logf("node 1 rebuilding=%v", c.Node(1).Rebuilding())
	r = c.Request(1, incr(7, 1, 1, 1, 5))
	c.Stabilize()
	t.Logf("retry: %v", FormatMessage(c.Replies[r]))
	r = c.Request(2, &net.GetCounter{Key: []byte("c"), Level: net.All})
	c.Stabilize()
	t.Logf("read at all: %v", FormatMessage(c.Replies[r]))
	if cv, ok := c.Replies[r].(*net.CounterValue); !ok || cv.Value != 5 {
		t.Errorf("after one increment of 5 and its retry the counter reads %v", FormatMessage(c.Replies[r]))
	}
}
