package nodetest

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/memdb/memdb/clock"
	"github.com/memdb/memdb/net"
)

// requestAt is Request with the client's session clock on the frame.
func (c *Cluster) requestAt(id int, m net.Message, at uint64) uint64 {
	h := c.host(id)
	c.nextReq++
	r := c.nextReq
	f, err := decode(net.Encode(net.Frame{ID: r, Msg: m, Clock: clock.Timestamp{Counter: at, Node: 0}}))
	if err != nil {
		panic(err)
	}
	c.step(fmt.Sprintf("request %s %s", h.name(), FormatFrame(f)), true, func() {
		h.call(func() { h.n.Request(net.ConnID(r), f) })
	})
	return r
}

// A node forwards an increment, crashes before relaying the answer, and
// leads the key after a leave: the client's pinned retry must not be
// applied again (found by review: it was, until the forward was remembered
// at a stamp under the node's durable lease).
func TestCounterForwardedRetryAfterRestartNotApplied(t *testing.T) {
	c, key, _ := keyOffNode1(t, 4, 3)
	for i := 0; i < 1000; i++ { // node 1 leads an increment first: it has a generation
		k := fmt.Sprintf("k%d", i)
		if slices.Contains(c.Node(1).Replicas([]byte(k)), 1) {
			c.Request(1, &net.Incr{Key: []byte(k), Delta: 1, Level: net.One, Session: 9, Seq: 1})
			c.Stabilize()
			break
		}
	}
	const F = 50_000_000 // the client's session clock, ahead of node 1's lease
	m := &net.Incr{Key: []byte(key), Delta: 5, Level: net.Quorum, Session: 7, Seq: 1, First: clock.Timestamp{Counter: F}}
	r := c.requestAt(1, m, F)
	// Let the leader apply and answer, but lose its answer to node 1.
	for i := 0; i < 50; i++ {
		for _, to := range []net.NodeID{2, 3, 4} {
			c.Deliver(Filter{To: to}, -1, false, false)
		}
		for _, id := range []int{1, 2, 3, 4} {
			c.syncDisk(id, -1, false)
		}
	}
	t.Logf("client got: %v", c.Replies[r])
	c.Crash(1)
	c.Stabilize()
	c.Start(1)
	c.Run(10 * time.Second)
	leaver := c.Node(2).Replicas([]byte(key))[0]
	h := c.host(int(leaver))
	h.call(func() { h.n.Leave(func(err error) { t.Logf("leave of %d: %v", leaver, err) }) })
	c.Run(60 * time.Second)
	t.Logf("replicas now %v", c.Node(1).Replicas([]byte(key)))
	m2 := *m
	m2.Attempt = 1
	r2 := c.requestAt(1, &m2, F+10)
	c.Stabilize()
	t.Logf("retry: %v", FormatMessage(c.Replies[r2]))
	r3 := c.Request(1, &net.GetCounter{Key: []byte(key), Level: net.All})
	c.Stabilize()
	t.Logf("read at all: %v", FormatMessage(c.Replies[r3]))
	if cv, ok := c.Replies[r3].(*net.CounterValue); !ok || cv.Value != 5 {
		t.Errorf("after one increment of 5 and its retry the counter reads %v", FormatMessage(c.Replies[r3]))
	}
}
