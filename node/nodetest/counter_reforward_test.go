package nodetest

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/memdb/memdb/net"
	"github.com/memdb/memdb/node"
)

// A node forwards a client's increment to the key's replica and the
// forward, or the replica's answer, is lost: the client's retry to the
// same node goes to the same replica, which judges it — applies it if the
// first attempt never came, answers it again if it did — instead of
// being answered unknown outcome for as long as the client retries
// (counter seed 3453; PAPER bug 78).
func TestCounterForwardLostRetryJudged(t *testing.T) {
	for _, lose := range []string{"forward", "answer"} {
		t.Run(lose, func(t *testing.T) {
			c := New()
			c.Configure = func(cfg *node.Config) { cfg.AntiEntropy = -1 }
			c.AddNodes(3, 1)
			for _, id := range c.IDs() {
				c.Start(int(id))
			}
			c.Run(40 * time.Second)
			key, leader := "", net.NodeID(0)
			for i := 0; i < 1000 && key == ""; i++ {
				k := fmt.Sprintf("k%d", i)
				if reps := c.Node(1).Replicas([]byte(k)); len(reps) == 1 && !slices.Contains(reps, 1) {
					key, leader = k, net.NodeID(reps[0])
				}
			}
			if key == "" {
				t.Fatal("no key off node 1")
			}
			// The leader has a log generation (it led an increment), as
			// node 4 had in the seed: a node without one judges no
			// retry (node/counter's package doc).
			c.Request(int(leader), &net.Incr{Key: []byte(key), Delta: 1, Level: net.One, Session: 9, Seq: 1})
			c.Stabilize()
			// The client's session clock: what node 1 answered it last.
			F := c.Node(1).Clock().Counter
			m := &net.Incr{Key: []byte(key), Delta: 5, Level: net.One, Session: 7, Seq: 1}
			m.First.Counter = F
			r := c.requestAt(1, m, F)
			lost := Filter{From: 1, To: leader, Kinds: []net.Kind{net.KindIncr}}
			if lose == "answer" {
				lost = Filter{From: leader, To: 1, Kinds: []net.Kind{net.KindCounterValue}}
			}
			dropped := 0
			for i := 0; i < 50; i++ {
				dropped += c.Deliver(lost, -1, true, false)
				c.Deliver(Filter{}, -1, false, false)
				for _, id := range c.IDs() {
					c.syncDisk(int(id), -1, false)
				}
			}
			if dropped != 1 {
				t.Fatalf("dropped %d messages, want the one %s", dropped, lose)
			}
			c.Run(5 * time.Second)
			if e, ok := c.Replies[r].(*net.Error); !ok || e.Code != net.CodeUnknownOutcome {
				t.Fatalf("with the %s lost, the first attempt got %v, want unknown outcome", lose, FormatMessage(c.Replies[r]))
			}
			m2 := *m
			m2.Attempt = 1
			r2 := c.requestAt(1, &m2, F)
			c.Stabilize()
			if cv, ok := c.Replies[r2].(*net.CounterValue); !ok || cv.Value != 6 {
				t.Errorf("with the %s lost, the retry got %v, want the counter's value 6", lose, FormatMessage(c.Replies[r2]))
			}
			r3 := c.Request(1, &net.GetCounter{Key: []byte(key), Level: net.All})
			c.Stabilize()
			if cv, ok := c.Replies[r3].(*net.CounterValue); !ok || cv.Value != 6 {
				t.Errorf("after increments of 1 and 5 (and its retry) the counter reads %v, want 6", FormatMessage(c.Replies[r3]))
			}
		})
	}
}
