package nodetest

import (
	"encoding/json"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/memdb/memdb/clock"
	"github.com/memdb/memdb/net"
)

// A Paxos attempt checks that a quorum of the key's acceptors is up, waits
// for its ballot (here a lease renewal: a sync of node 1's log), then asks
// the acceptors up at that moment. When the failure detector declared them
// dead in between, the prepare went to none, and the round — with no timer
// of its own, only its calls have one — never ended: no answer ever came
// (cas-chaos seed 2569: two joiners' reads of the movement lock, so they
// never joined).
func TestPaxosAcceptorsDeadWhileBallotWaits(t *testing.T) {
	c := formed(2, 1, noAntiEntropy)
	var key []byte
	for i := 0; key == nil; i++ {
		if k := fmt.Appendf(nil, "k%d", i); slices.Equal(c.Node(1).Replicas(k), []uint16{2}) {
			key = k
		}
	}
	h := c.host(1)
	c.nextReq++
	r := c.nextReq
	c.Quietly(func() {
		// A session clock past node 1's lease: the ballot waits for a
		// renewal, which waits for node 1's disk.
		h.call(func() {
			h.n.Request(net.ConnID(r), net.Frame{ID: r, Clock: clock.Timestamp{Counter: 1 << 40},
				Msg: &net.CAS{Key: key, OldFound: false, New: []byte("v")}})
		})
		c.Crash(2)
		// Node 1 finds node 2 dead; its disk completes nothing meanwhile.
		for i := 0; alive(c, 1, 2); i++ {
			if i == 400 {
				t.Fatalf("node 1 did not find node 2 dead in 20 s:\n%s", c.Status())
			}
			c.Deliver(Filter{Gossip: true}, -1, false, false)
			c.Advance(50 * time.Millisecond)
		}
		if c.Replies[r] != nil {
			t.Fatalf("the cas was answered before its ballot (the test no longer reaches the case): %s", FormatMessage(c.Replies[r]))
		}
		c.Run(10 * time.Second)
	})
	if c.Replies[r] == nil {
		t.Fatalf("the cas was never answered: its prepare went to no acceptor\n%s", c.Status())
	}
	if e, ok := c.Replies[r].(*net.Error); !ok || e.Code != net.CodeUnavailable {
		t.Errorf("the cas was answered %s, want unavailable (nothing was sent)", FormatMessage(c.Replies[r]))
	}
}

// alive reports whether node id's failure detector has member m alive (or
// only suspected).
func alive(c *Cluster, id, m int) bool {
	var rv ringView
	raw, _ := json.Marshal(c.Node(id).RingJSON())
	if err := json.Unmarshal(raw, &rv); err != nil {
		panic(err)
	}
	for _, x := range rv.Members {
		if int(x.ID) == m {
			return x.State == "alive" || x.State == "suspect"
		}
	}
	return false
}
