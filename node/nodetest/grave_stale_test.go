package nodetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/memdb/memdb/clock"
	"github.com/memdb/memdb/net"
)

// inject hands node to a frame from peer from, as if it had crossed the
// network, and returns what node to answered it with (nil if nothing).
func (c *Cluster) inject(to, from int, f net.Frame) net.Message {
	c.host(to).call(func() { c.Node(to).Deliver(net.NodeID(from), f) })
	for {
		for _, m := range c.Msgs(Filter{From: net.NodeID(to), To: net.NodeID(from)}) {
			if g, err := decode(m.Frame); err == nil && g.ID == f.ID {
				return g.Msg
			}
		}
		if c.syncDisk(to, -1, false) == 0 {
			return nil
		}
	}
}

// After every replica dropped a key's tombstone, a register's value
// stamped below it — a write whose coordinator's clock lagged the
// cluster's by a grace, or a copy held back by a pause — must not land
// on nothing and bring a deleted value back: a coordinator's write is
// refused (and restamped by its coordinator), a copy is left out while
// the rest of its batch is taken, and a leaving node's push, whose sender
// is itself held to the rule, is taken whole.
func TestStaleStampsAfterTheTombstoneWasDropped(t *testing.T) {
	c := graceCluster(30 * time.Second)
	setThenDelete(c, 10, 10, net.All)
	c.Quietly(func() { c.Run(150 * time.Second) })
	for _, id := range []int{1, 2, 3} {
		if states, _ := held(c, id, 10); states != 0 {
			t.Fatalf("node %d holds %d of the 10 deleted keys after the grace, want none", id, states)
		}
	}
	old := clock.Timestamp{Counter: 1, Node: 2} // below every tombstone
	fresh := c.Node(2).Clock()
	fresh.Counter += 1000
	entry := func(key string, t clock.Timestamp) net.Entry {
		return net.Entry{Key: []byte(key), Value: []byte("from " + key), Stamp: t}
	}
	frame := func(id uint64, carry net.Carry, es ...net.Entry) net.Frame {
		return net.Frame{ID: id, Clock: c.Node(2).Clock(), Msg: &net.Replicate{Epoch: c.Node(1).Epoch(), Entries: es, Carry: carry}}
	}

	got := c.inject(1, 2, frame(9001, net.CarryWrite, entry("k000", old)))
	if e, ok := got.(*net.Error); !ok || e.Code != net.CodeStaleStamp {
		t.Errorf("a coordinator's write stamped below a dropped tombstone was answered %v, want a stale stamp error", FormatMessage(got))
	}
	if c.Node(1).Stats().StaleRefused != 1 {
		t.Errorf("node 1 counted %d stale writes refused, want 1", c.Node(1).Stats().StaleRefused)
	}

	got = c.inject(1, 2, frame(9002, net.CarryCopy, entry("k001", old), entry("new", fresh)))
	if _, ok := got.(*net.Done); !ok {
		t.Errorf("a batch of copies with one stale entry was answered %v, want done", FormatMessage(got))
	}
	if n := c.Node(1).Stats().StaleSkipped; n != 1 {
		t.Errorf("node 1 left out %d stale copies, want 1", n)
	}

	got = c.inject(1, 2, frame(9003, net.CarryState, entry("k002", old)))
	if _, ok := got.(*net.Done); !ok {
		t.Errorf("a push was answered %v, want done", FormatMessage(got))
	}

	for key, want := range map[string]bool{"k000": false, "k001": false, "new": true, "k002": true} {
		if _, ok := c.Node(1).Store().Get([]byte(key)); ok != want {
			t.Errorf("node 1 holds %s: %v, want %v", key, ok, want)
		}
	}
}

// A coordinator whose write a replica refused as stamped below its
// tombstone floor stamps it again, above the clock the refusal carried,
// and sends it to every replica anew: answers to the old stamp count for
// nothing, and the client hears the new stamp.
func TestWriteRestampedAboveTheFloor(t *testing.T) {
	c := graceCluster(30 * time.Second)
	c.Quietly(func() {
		c.Request(1, &net.Set{Key: []byte("k"), Value: []byte("v1"), Level: net.All})
		c.Stabilize()
	})
	r := c.Request(1, &net.Set{Key: []byte("k"), Value: []byte("v2"), Level: net.All})
	var first net.Frame
	for _, m := range c.Msgs(Filter{From: 1, To: 2, Kinds: []net.Kind{net.KindReplicate}}) {
		first, _ = decode(m.Frame)
	}
	rep, ok := first.Msg.(*net.Replicate)
	if !ok || rep.Carry != net.CarryWrite {
		t.Fatalf("node 1 sent node 2 %v, want the write as a Replicate carrying a write", FormatFrame(first))
	}
	c.Deliver(Filter{From: 1, To: 2, Kinds: []net.Kind{net.KindReplicate}}, -1, true, false)
	above := clock.Timestamp{Counter: rep.Entries[0].Stamp.Counter + 5000, Node: 2}
	c.host(1).call(func() {
		c.Node(1).Deliver(2, net.Frame{ID: first.ID, Clock: above, Msg: &net.Error{Code: net.CodeStaleStamp, Message: "stale"}})
	})
	c.Stabilize()

	done, ok := c.Replies[r].(*net.Done)
	if !ok || !above.Less(done.Version) {
		t.Fatalf("the write was answered %v, want done with a stamp above %v", FormatMessage(c.Replies[r]), above)
	}
	for _, id := range []int{1, 2, 3} {
		v, _ := c.Node(id).Store().Get([]byte("k"))
		if string(v.Value) != "v2" || v.Stamp != done.Version {
			t.Errorf("node %d holds k = %q at %v, want v2 at %v", id, v.Value, v.Stamp, done.Version)
		}
	}
	if n := c.Node(1).Stats().WritesRestamped; n != 1 {
		t.Errorf("node 1 restamped %d writes, want 1", n)
	}
	if got := fmt.Sprint(c.Node(1).Stats().StaleRefused); got != "0" {
		t.Errorf("node 1 refused %s writes as a replica, want 0", got)
	}
}
