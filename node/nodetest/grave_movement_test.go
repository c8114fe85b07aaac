package nodetest

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/memdb/memdb/net"
	"github.com/memdb/memdb/node"
)

// missing lists, on the nodes that are up, the keys k000..k<n-1> that a
// node replicates (by its own view) and does not hold.
func missing(c *Cluster, n int) []string {
	var out []string
	for _, id := range c.IDs() {
		nd := c.Node(int(id))
		if nd == nil {
			continue
		}
		for i := range n {
			key := fmt.Appendf(nil, "k%03d", i)
			if !slices.Contains(nd.Replicas(key), uint16(id)) {
				continue
			}
			if _, ok := nd.Store().Get(key); !ok {
				out = append(out, fmt.Sprintf("n%d:%s", id, key))
			}
		}
	}
	return out
}

// Found by review (issue 22, PAPER bug 60): forgetUnowned (now
// grave.Driver.ForgetUnowned) ran whenever the node's own phase was
// normal, and asked the read ring whether it replicates a key. While a member is being removed (or leaves), a gainer
// is on the write ring only, so it forgot what it had just taken; a gainer
// that restarted after its Take forgot all of it, and once the removal
// finished it was a replica holding nothing. Now a node forgets only on a
// settled ring, what no group of the key holds it for.
func TestGainerKeepsTakenArcsDuringRemoval(t *testing.T) {
	for _, grace := range []time.Duration{-1, 20 * time.Second} {
		t.Run(fmt.Sprint("grace=", grace), func(t *testing.T) {
			cfg := func(cfg *node.Config) {
				cfg.Vnodes, cfg.AntiEntropy, cfg.TombstoneGrace = 4, -1, grace
			}
			c := formed(3, 2, cfg)
			c.Quietly(func() {
				for i := range 60 {
					c.Request(1, &net.Set{Key: fmt.Appendf(nil, "k%03d", i), Value: []byte("v"), Level: net.All})
				}
				c.Stabilize()
			})
			c.Crash(3)
			c.Quietly(func() { c.Run(30 * time.Second) })
			removed, restarted := false, false
			h := c.host(1)
			c.Quietly(func() {
				h.call(func() {
					h.n.Remove(3, func(err error) {
						if err != nil {
							t.Errorf("remove: %v", err)
						}
						removed = true
					})
				})
				// One message at a time; once node 2 answers a Take, it
				// restarts at once (nothing queued for it is lost).
				for i := 0; !removed && i < 200000; i++ {
					if !restarted && func() bool { s, _ := held(c, 2, 60); return s == 60 }() {
						before := c.Node(2).Store().Len()
						c.Crash(2)
						c.Run(2 * time.Second) // down for a moment: the remover's Paxos repair waits
						c.Start(2)
						restarted = true
						t.Logf("restarted node 2 at %v holding %d keys; epoch %d:\n%s", c.Elapsed(), before, c.Node(2).Epoch(), c.Status())
					}
					if c.Deliver(Filter{Gossip: true}, 1, false, false) > 0 {
						continue
					}
					did := 0
					for _, id := range c.IDs() {
						did += c.syncDisk(int(id), -1, false)
					}
					if did == 0 {
						c.Advance(10 * time.Millisecond)
					}
				}
				c.Run(10 * time.Second)
			})
			if !removed {
				t.Fatalf("removal did not finish:\n%s", c.Status())
			}
			t.Logf("restarted=%v forgotten=%d status:\n%s", restarted, c.Node(2).Stats().KeysForgotten, c.Status())
			if m := missing(c, 60); len(m) > 0 {
				t.Errorf("after the removal, replicas lack %d keys: %v", len(m), m)
			}
		})
	}
}

// Found by review (issue 22, PAPER bug 61): forgetUnowned (now
// grave.Driver.ForgetUnowned) dropped a key from memory only, and the
// node's log still held the key's records until a compaction. A node that forgot a value when an arc moved away, and got
// the arc back (the node that took it leaves), brought the value back
// from its own log at its next restart — after the arc's replicas dropped
// the tombstone that deleted it while it was away, so nothing covered it.
// Now each slice of forgotten keys is logged (TypeForget) and synced.
//
// Nodes 1 and 2, rf 2, hold k000..k059. Node 3 joins: node 2 (or 1)
// forgets the keys it no longer replicates. Those keys are deleted (on
// nodes 1 and 3, or 2 and 3), the tombstones are dropped after the grace.
// Node 3 leaves: the arcs come back. Node 2 restarts: the values it forgot
// come back from its log, and a quorum read returns them.
func TestForgottenValueNotReplayedAfterArcReturns(t *testing.T) {
	c := joinedThird(t)
	// Delete every key that moved (some node of 1, 2 forgot it).
	var moved []string
	for i := range 60 {
		key := fmt.Appendf(nil, "k%03d", i)
		if owners := c.Node(3).Replicas(key); !slices.Contains(owners, 1) || !slices.Contains(owners, 2) {
			moved = append(moved, string(key))
		}
	}
	if len(moved) == 0 {
		t.Fatal("no key moved to node 3: the test checks nothing")
	}
	c.Quietly(func() {
		for _, k := range moved {
			c.Request(1, &net.Delete{Key: []byte(k), Level: net.All})
		}
		c.Stabilize()
		c.Run(2 * time.Minute)
	})
	for _, id := range []int{1, 2, 3} {
		for _, k := range moved {
			if _, ok := c.Node(id).Store().Get([]byte(k)); ok {
				t.Fatalf("node %d still holds %s 2 minutes after its delete: the tombstones were not dropped", id, k)
			}
		}
	}
	left := false
	h := c.host(3)
	c.Quietly(func() {
		h.call(func() { h.n.Leave(func(err error) { left = err == nil }) })
		c.Run(40 * time.Second)
	})
	if !left {
		t.Fatalf("node 3 did not leave:\n%s", c.Status())
	}
	c.Crash(3)
	c.Crash(2)
	c.Start(2)
	c.Quietly(func() { c.Run(10 * time.Second) })
	var back []string
	for _, k := range moved {
		// A tombstone (deleted@...) may come back from a log too: harmless.
		if got := c.read(1, k); strings.HasPrefix(got, "value current=v") {
			back = append(back, k+": "+got)
		}
	}
	if len(back) > 0 {
		t.Errorf("%d of %d deleted keys read back after the arcs returned and node 2 restarted: %v", len(back), len(moved), back)
	}
}

// runWith is Run on a network that treats each message as rule says:
// deliver (0), drop (1) or hold it in the queue (2).
func (c *Cluster) runWith(d time.Duration, rule func(m Msg) int) {
	end := c.now.Add(d)
	settle := func() {
		for round := 0; round < 100000; round++ {
			did := 0
			msgs := c.msgs
			c.msgs = nil
			var keep []Msg
			for _, m := range msgs {
				switch rule(m) {
				case 0:
					c.deliver(m, false, false)
					did++
				case 1:
					c.deliver(m, true, false)
					did++
				default:
					keep = append(keep, m)
				}
			}
			c.msgs = append(keep, c.msgs...)
			for _, id := range c.IDs() {
				did += c.syncDisk(int(id), -1, false)
			}
			if did == 0 {
				return
			}
		}
	}
	settle()
	for t := c.next(); t != nil && !t.at.After(end); t = c.next() {
		c.now = t.at
		c.fireDue()
		settle()
	}
	c.now = end
}

// From review (issue 22), a guard: a hint of an older value that
// lands on a peer after an early comparison with it does not let the
// tombstone go. The comparison could not have found the peer clean: the
// tombstone is not expired yet, so the asker's digest holds it and the
// empty peer's does not. (What would break it is clock rates: condition 1
// counts the grace on the replica's clock and the hint bound counts half
// of it on the coordinator's: PAPER §2 assumes their rates differ by
// much less than a factor of two.)
//
// Nodes 1-3, rf 3, grace 60 s. k is set through node 1 while node 3 does
// not hear (node 1 hints it), then deleted through node 2 (its hint to
// node 3 never lands). Nodes 1 and 2 compare with node 3, which holds
// nothing of k. Then node 1's hint of the value lands on node 3 (node 3's
// own pulls still fail) and the grace passes; no quorum read may return it.
func TestHintLandingAfterCleanComparisonKeepsTombstone(t *testing.T) {
	for _, grace := range []time.Duration{-1, 60 * time.Second} {
		t.Run(fmt.Sprint("grace=", grace), func(t *testing.T) {
			c := formed(3, 3, func(cfg *node.Config) {
				cfg.Vnodes, cfg.AntiEntropy, cfg.TombstoneGrace = 4, 5*time.Second, grace
			})
			key := []byte("k")
			is := func(k net.Kind) func(Msg) bool { return func(m Msg) bool { return m.Kind == k } }
			sync, replicate := is(net.KindSync), is(net.KindReplicate)
			// Phase A: nothing reaches node 3's store: no write, hint or
			// pull of its own; digests and gossip pass.
			phaseA := func(m Msg) int {
				if (m.To == 3 && replicate(m)) || (m.From == 3 && sync(m)) {
					return 1
				}
				return 0
			}
			c.Quietly(func() {
				c.Request(1, &net.Set{Key: key, Value: []byte("zombie"), Level: net.Quorum})
				c.runWith(3*time.Second, phaseA) // node 1 hints node 3
				c.Request(2, &net.Delete{Key: key, Level: net.Quorum})
				c.runWith(15*time.Second, phaseA) // nodes 1 and 2 compare with node 3
			})
			if v, ok := c.Node(3).Store().Get(key); ok {
				t.Fatalf("node 3 holds %v after phase A; the test needs it empty", v)
			}
			if c.Node(1).HintsPending() == 0 {
				t.Fatal("node 1 holds no hint for node 3: the test no longer reaches the case")
			}
			// Phase B: node 1's hints land on node 3; node 2's do not, and
			// node 3's pulls still fail.
			phaseB := func(m Msg) int {
				if (m.From == 2 && m.To == 3 && replicate(m)) || (m.From == 3 && sync(m)) {
					return 1
				}
				return 0
			}
			c.Quietly(func() { c.runWith(70*time.Second, phaseB) })
			v3, _ := c.Node(3).Store().Get(key)
			_, ok1 := c.Node(1).Store().Get(key)
			_, ok2 := c.Node(2).Store().Get(key)
			t.Logf("after phase B: node 3 holds %v (live %v); nodes 1, 2 hold k: %v, %v", v3, v3.Live(), ok1, ok2)
			c.Quietly(func() { c.Run(30 * time.Second) })
			if got := c.read(1, "k"); strings.HasPrefix(got, "value current=zombie") {
				t.Errorf("a quorum read of the deleted key returns %s: the tombstone was dropped while node 3 held the value", got)
			}
		})
	}
}
