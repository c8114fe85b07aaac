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
			c, key, reps := keyOffNode1(t, 3, 1)
			leader := net.NodeID(reps[0])
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

// The forwarded increment is applied and its answer lost, then the
// replica it went to is down: the client's retry must not go to another
// replica, which has no record of it and would apply it again; it is
// answered unknown outcome.
func TestCounterForwardRetryNotSentElsewhere(t *testing.T) {
	c, key, reps := keyOffNode1(t, 4, 3)
	// Every replica leads an increment of 1 first: each has a log
	// generation, so each could judge a retry.
	for i, r := range reps {
		c.Request(int(r), &net.Incr{Key: []byte(key), Delta: 1, Level: net.One, Session: 9, Seq: uint64(i + 1)})
		c.Stabilize()
	}
	// The client's session clock is past every node's: any replica's
	// table covers the increment, so only where the retry goes keeps it
	// from being applied twice.
	F := uint64(0)
	for _, id := range c.IDs() {
		F = max(F, c.Node(int(id)).Clock().Counter)
	}
	m := &net.Incr{Key: []byte(key), Delta: 5, Level: net.One, Session: 7, Seq: 1}
	m.First.Counter = F
	r := c.requestAt(1, m, F)
	fwd := c.Msgs(Filter{From: 1, Kinds: []net.Kind{net.KindIncr}})
	for i := 0; i < 50 && len(fwd) == 0; i++ {
		c.Deliver(Filter{}, -1, false, false)
		for _, id := range c.IDs() {
			c.syncDisk(int(id), -1, false)
		}
		fwd = c.Msgs(Filter{From: 1, Kinds: []net.Kind{net.KindIncr}})
	}
	if len(fwd) != 1 {
		t.Fatalf("%d forwards queued, want 1", len(fwd))
	}
	leader := fwd[0].To
	answer := Filter{From: leader, To: 1, Kinds: []net.Kind{net.KindCounterValue}}
	dropped := 0
	for i := 0; i < 50; i++ {
		dropped += c.Deliver(answer, -1, true, false)
		c.Deliver(Filter{}, -1, false, false)
		for _, id := range c.IDs() {
			c.syncDisk(int(id), -1, false)
		}
	}
	if dropped != 1 {
		t.Fatalf("dropped %d answers, want 1", dropped)
	}
	c.Run(5 * time.Second)
	c.Crash(int(leader))
	c.Run(10 * time.Second)
	m2 := *m
	m2.Attempt = 1
	r2 := c.requestAt(1, &m2, F)
	c.Stabilize()
	if e, ok := c.Replies[r2].(*net.Error); !ok || e.Code != net.CodeUnknownOutcome {
		t.Errorf("with node %d down, the retry got %v, want unknown outcome", leader, FormatMessage(c.Replies[r2]))
	}
	c.Start(int(leader))
	c.Run(30 * time.Second)
	r3 := c.Request(1, &net.GetCounter{Key: []byte(key), Level: net.All})
	c.Stabilize()
	if cv, ok := c.Replies[r3].(*net.CounterValue); !ok || cv.Value != 8 {
		t.Errorf("after increments of 1, 1, 1 and 5 (and its retry) the counter reads %v, want 8 (first attempt %v)", FormatMessage(c.Replies[r3]), FormatMessage(c.Replies[r]))
	}
}

// keyOffNode1 starts a cluster of nodes nodes at replication factor rf
// (anti-entropy off), runs it until its ring settles, and returns a key
// with rf replicas, none of them node 1 (which forwards what it is asked
// of the key), and those replicas.
func keyOffNode1(t *testing.T, nodes, rf int) (*Cluster, string, []uint16) {
	t.Helper()
	c := New()
	c.Configure = func(cfg *node.Config) { cfg.AntiEntropy = -1 }
	c.AddNodes(nodes, rf)
	for _, id := range c.IDs() {
		c.Start(int(id))
	}
	c.Run(40 * time.Second)
	for i := 0; i < 1000; i++ {
		k := fmt.Sprintf("k%d", i)
		if reps := c.Node(1).Replicas([]byte(k)); len(reps) == rf && !slices.Contains(reps, 1) {
			t.Logf("key %s replicas %v", k, reps)
			return c, k, reps
		}
	}
	t.Fatal("no key off node 1")
	return nil, "", nil
}
