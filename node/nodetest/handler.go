package nodetest

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cockroachdb/datadriven"
	"github.com/memdb/memdb/clock"
	"github.com/memdb/memdb/net"
	"github.com/memdb/memdb/node"
)

// Handle runs one datadriven command against the cluster and returns what
// it printed. The commands:
//
//	add-nodes n=N [rf=R] [vnodes=V] [anti-entropy=off]
//	                    add N machines (not started); node 1 is the seed
//	start [node=(..)]   boot the nodes named (default: every one down)
//	crash node=(..)     power them off; restart is start again
//	restart node=(..)   alias of start
//	run d=D             run on a perfect network for D of virtual time,
//	                    printing only client replies
//	tick d=D            move time on by D, firing due timers (alias advance)
//	stabilize           deliver messages and complete disk operations
//	                    until none is left; time stands still
//	msgs [filter]       print the queued messages
//	deliver-msgs [filter] [count=N] [drop] [dup]
//	                    deliver (or lose, or deliver and requeue a copy of)
//	                    the queued messages that match, oldest first
//	sync-disk node=N [count=K]
//	                    complete node N's pending disk operations, in order
//	request node=N set|get|del|contains|cas key=K [value=V] [old=O] [new=V] [level=L]
//	                    a client request (cas without old expects the key
//	                    absent)
//	compact node=N      compact node N's log
//	leave node=N        ask node N to leave the cluster
//	status              every node's ring epoch and view of the members
//	replicas key=K [node=N]
//	                    key K's replicas as node N (default 1) sees them
//	store node=(..) [key=K]
//	                    the nodes' tables (or only key K; "move" names the
//	                    movement lock's system key)
//	acceptors node=N    node N's Paxos acceptor state
//
// A filter is [from=N] [to=N] [kind=(prepare,promise,..)] [gossip]: gossip
// frames are left out unless gossip is given or kind names them. Every
// command prints each event it caused (a delivery, a disk completion, a
// timer) with the effects under it: messages sent, disk operations
// queued, client replies.
func (c *Cluster) Handle(t testing.TB, d *datadriven.TestData) string {
	t.Helper()
	switch d.Cmd {
	case "add-nodes":
		var n int
		rf := 3
		d.ScanArgs(t, "n", &n)
		d.MaybeScanArgs(t, "rf", &rf)
		prev := c.Configure
		c.Configure = func(cfg *node.Config) {
			if prev != nil {
				prev(cfg)
			}
			d.MaybeScanArgs(t, "vnodes", &cfg.Vnodes)
			if d.HasArg("anti-entropy") {
				cfg.AntiEntropy = -1
			}
		}
		ids := c.AddNodes(n, rf)
		c.Configure = prev
		return fmt.Sprintf("added %v\n", ids)
	case "start", "restart":
		ids := nodes(t, d)
		if ids == nil {
			for _, id := range c.IDs() {
				if !c.hosts[id].up {
					ids = append(ids, int(id))
				}
			}
		}
		for _, id := range ids {
			c.Start(id)
		}
	case "crash":
		for _, id := range nodes(t, d) {
			c.Crash(id)
		}
	case "run":
		c.Quietly(func() { c.Run(duration(t, d)) })
	case "tick", "advance":
		c.Advance(duration(t, d))
	case "stabilize":
		c.Stabilize()
	case "msgs":
		for _, m := range c.Msgs(filter(t, d)) {
			c.printf("%s\n", m)
		}
	case "deliver-msgs":
		n := -1
		d.MaybeScanArgs(t, "count", &n)
		if c.Deliver(filter(t, d), n, d.HasArg("drop"), d.HasArg("dup")) == 0 {
			c.printf("no messages\n")
		}
	case "sync-disk":
		n := -1
		d.MaybeScanArgs(t, "count", &n)
		for _, id := range nodes(t, d) {
			if c.SyncDisk(id, n) == 0 {
				c.printf("n%d: nothing to sync\n", id)
			}
		}
	case "request":
		c.Request(one(t, d), request(t, d))
	case "compact":
		id := one(t, d)
		c.step(fmt.Sprintf("compact n%d", id), true, func() {
			h := c.host(id)
			h.call(func() {
				h.n.Compact(func(r node.CompactResult, err error) {
					c.effect("n%d compacted: keys=%d err=%v", id, r.Keys, err)
				})
			})
		})
	case "leave":
		id := one(t, d)
		c.step(fmt.Sprintf("leave n%d", id), true, func() {
			h := c.host(id)
			h.call(func() { h.n.Leave(func(err error) { c.effect("n%d leave done: err=%v", id, err) }) })
		})
	case "status":
		c.printf("%s", c.Status())
	case "replicas":
		var key string
		d.ScanArgs(t, "key", &key)
		id := 1
		d.MaybeScanArgs(t, "node", &id)
		c.printf("%v\n", c.host(id).n.Replicas([]byte(key)))
	case "store":
		var key string
		d.MaybeScanArgs(t, "key", &key)
		for _, id := range nodes(t, d) {
			for _, l := range strings.SplitAfter(c.Store(id, key), "\n") {
				if l != "" {
					c.printf("n%d: %s", id, l)
				}
			}
		}
	case "acceptors":
		for _, id := range nodes(t, d) {
			c.printf("n%d: %s", id, c.Acceptors(id))
		}
	default:
		t.Fatalf("%s: unknown command %q", d.Pos, d.Cmd)
	}
	out := c.Output()
	if out == "" {
		return "ok\n"
	}
	return out
}

// request builds a client request from the command's arguments.
func request(t testing.TB, d *datadriven.TestData) net.Message {
	t.Helper()
	var key, value, nw string
	d.ScanArgs(t, "key", &key)
	d.MaybeScanArgs(t, "value", &value)
	d.MaybeScanArgs(t, "new", &nw)
	level := net.Default
	if arg, ok := d.Arg("level"); ok {
		l, err := net.ParseConsistency(arg.SingleVal(t))
		if err != nil {
			t.Fatalf("%s: %v", d.Pos, err)
		}
		level = l
	}
	switch {
	case d.HasArg("set"):
		return &net.Set{Key: []byte(key), Value: []byte(value), Level: level}
	case d.HasArg("get"):
		return &net.Get{Key: []byte(key), Level: level}
	case d.HasArg("del"):
		return &net.Delete{Key: []byte(key), Level: level}
	case d.HasArg("contains"):
		return &net.Contains{Key: []byte(key), Level: level}
	case d.HasArg("incr"):
		var delta int64 = 1
		var session, seq, attempt, first uint64
		d.MaybeScanArgs(t, "delta", &delta)
		d.MaybeScanArgs(t, "session", &session)
		d.MaybeScanArgs(t, "seq", &seq)
		d.MaybeScanArgs(t, "attempt", &attempt)
		d.MaybeScanArgs(t, "first", &first)
		return &net.Incr{Key: []byte(key), Delta: delta, Level: level, Session: session, Seq: seq, Attempt: uint32(attempt), First: clock.Timestamp{Counter: first}}
	case d.HasArg("counter"):
		return &net.GetCounter{Key: []byte(key), Level: level}
	case d.HasArg("cas"):
		m := &net.CAS{Key: []byte(key), New: []byte(nw)}
		if arg, ok := d.Arg("old"); ok {
			m.OldFound, m.Old = true, []byte(arg.SingleVal(t))
		}
		return m
	}
	t.Fatalf("%s: request needs one of set, get, del, contains, cas, incr, counter", d.Pos)
	return nil
}

func filter(t testing.TB, d *datadriven.TestData) Filter {
	t.Helper()
	var f Filter
	var from, to int
	d.MaybeScanArgs(t, "from", &from)
	d.MaybeScanArgs(t, "to", &to)
	f.From, f.To, f.Gossip = net.NodeID(from), net.NodeID(to), d.HasArg("gossip")
	if arg, ok := d.Arg("kind"); ok {
		for _, v := range arg.Vals {
			k, ok := kindNamed(strings.TrimSpace(v))
			if !ok {
				t.Fatalf("%s: no message kind %q", d.Pos, v)
			}
			f.Kinds = append(f.Kinds, k)
		}
	}
	return f
}

func kindNamed(s string) (net.Kind, bool) {
	for k := range net.Kind(255) {
		if k.String() == s {
			return k, true
		}
	}
	return 0, false
}

// nodes reads node=(..) as ids; nil if absent.
func nodes(t testing.TB, d *datadriven.TestData) []int {
	t.Helper()
	arg, ok := d.Arg("node")
	if !ok {
		return nil
	}
	var ids []int
	for _, v := range arg.Vals {
		id, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil {
			t.Fatalf("%s: node %q: %v", d.Pos, v, err)
		}
		ids = append(ids, id)
	}
	return ids
}

func one(t testing.TB, d *datadriven.TestData) int {
	t.Helper()
	ids := nodes(t, d)
	if len(ids) != 1 {
		t.Fatalf("%s: %s needs node=N", d.Pos, d.Cmd)
	}
	return ids[0]
}

func duration(t testing.TB, d *datadriven.TestData) time.Duration {
	t.Helper()
	var s string
	d.ScanArgs(t, "d", &s)
	v, err := time.ParseDuration(s)
	if err != nil {
		t.Fatalf("%s: d=%s: %v", d.Pos, s, err)
	}
	return v
}
