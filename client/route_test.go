package client

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/memdb/memdb/net"
	"github.com/memdb/memdb/node/ring"
)

// The tests here check where each call goes, exactly: they turn hedging
// and health tracking off (HedgeAfter, SlowAfter -1), since on a loaded
// machine a fake node may answer late enough to be hedged or found slow.
// health_test.go tests those.

// fakeCluster is fake nodes that serve one store (a shared map) and record
// which keys reach which node. After setRing they answer Ring with the
// same RingInfo, addressing every node.
type fakeCluster struct {
	t     testing.TB
	ids   []uint16
	nodes map[uint16]*fakeNode

	data   map[string][]byte
	dataMu sync.Mutex

	mu     sync.Mutex
	got    map[uint16][]string // keys received, by node, in order
	hangUp map[uint16]bool     // the node hangs up on the first request of a connection
}

// startNodes starts fake nodes that do not serve the ring (yet).
func startNodes(t testing.TB, ids ...uint16) *fakeCluster {
	fc := &fakeCluster{t: t, ids: ids, nodes: map[uint16]*fakeNode{}, data: map[string][]byte{},
		got: map[uint16][]string{}, hangUp: map[uint16]bool{}}
	for _, id := range ids {
		fc.nodes[id] = startFake(t, "", func(c *fakeConn) { fc.serve(id, c) })
	}
	return fc
}

// startCluster starts fake nodes that answer Ring with a ring of them
// all (virtual tokens, epoch 1) at replication factor rf.
func startCluster(t testing.TB, rf int, ids ...uint16) (*fakeCluster, ring.Ring) {
	fc := startNodes(t, ids...)
	r := virtualRing(t, 1, ids...)
	fc.setRing(fc.info(r, rf))
	return fc, r
}

func virtualRing(t testing.TB, epoch uint64, ids ...uint16) ring.Ring {
	t.Helper()
	r, err := ring.New(epoch, ring.Virtual(ids, ring.DefaultVnodes))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// info is the RingInfo of r at rf, with the address of every node.
func (fc *fakeCluster) info(r ring.Ring, rf int) *net.RingInfo {
	m := &net.RingInfo{Replicas: uint8(rf), Ring: r.Encode()}
	for _, id := range fc.ids {
		m.Addrs = append(m.Addrs, net.NodeAddr{Node: id, Addr: fc.nodes[id].addr()})
	}
	return m
}

// setRing makes every node answer Ring with m.
func (fc *fakeCluster) setRing(m net.Message) {
	for _, n := range fc.nodes {
		n.setRing(func() net.Message { return m })
	}
}

func (fc *fakeCluster) serve(id uint16, c *fakeConn) {
	for {
		f, err := c.read()
		if err != nil {
			return
		}
		fc.mu.Lock()
		fc.got[id] = append(fc.got[id], requestKey(f.Msg))
		hangUp := fc.hangUp[id]
		fc.mu.Unlock()
		if hangUp {
			return
		}
		c.node.hold()
		c.write(net.Frame{ID: f.ID, Msg: apply(f.Msg, fc.data, &fc.dataMu)})
	}
}

// requestKey names what a request is about: its key, or its kind.
func requestKey(m net.Message) string {
	switch m := m.(type) {
	case *net.Get:
		return string(m.Key)
	case *net.Set:
		return string(m.Key)
	case *net.Delete:
		return string(m.Key)
	case *net.Contains:
		return string(m.Key)
	case *net.CAS:
		return string(m.Key)
	case *net.Incr:
		return string(m.Key)
	case *net.GetCounter:
		return string(m.Key)
	}
	return "(" + m.Kind().String() + ")"
}

// take returns the keys each node received since the last take.
func (fc *fakeCluster) take() map[uint16][]string {
	fc.mu.Lock()
	defer fc.mu.Unlock()
	got := fc.got
	fc.got = map[uint16][]string{}
	return got
}

func (fc *fakeCluster) setHangUp(id uint16) {
	fc.mu.Lock()
	fc.hangUp[id] = true
	fc.mu.Unlock()
}

// firstUp is the node a call about key should reach when the nodes in dead
// are down: its first replica that is up, else the first node up by id.
func firstUp(r ring.Ring, rf int, key string, ids []uint16, dead ...uint16) uint16 {
	isDead := func(id uint16) bool {
		for _, d := range dead {
			if d == id {
				return true
			}
		}
		return false
	}
	for _, id := range r.Replicas([]byte(key), rf) {
		if !isDead(id) {
			return id
		}
	}
	for _, id := range ids {
		if !isDead(id) {
			return id
		}
	}
	return 0
}

func testKeys(n int) []string {
	keys := make([]string, n)
	for i := range keys {
		keys[i] = fmt.Sprintf("key-%03d", i)
	}
	return keys
}

// Every keyed call goes to its key's first replica, whichever node the
// client was given; the client learns the others from the ring.
func TestRoutesToFirstReplica(t *testing.T) {
	const rf = 2
	fc, r := startCluster(t, rf, 1, 2, 3)
	c := dialFake(t, Options{Addrs: []string{fc.nodes[3].addr()}, RingRefresh: -1, HedgeAfter: -1, SlowAfter: -1})
	if rt := c.route.Load(); rt == nil || rt.epoch != 1 || rt.rf != rf {
		t.Fatalf("after Dial the client routes by %+v; want the ring of epoch 1 at rf %d", rt, rf)
	}
	ctx := context.Background()
	want := map[uint16][]string{}
	for _, k := range testKeys(60) {
		if err := c.Set(ctx, k, []byte("v")); err != nil {
			t.Fatalf("Set(%q): %v", k, err)
		}
		if _, err := c.Get(ctx, k); err != nil {
			t.Fatalf("Get(%q): %v", k, err)
		}
		if _, err := c.Contains(ctx, k); err != nil {
			t.Fatalf("Contains(%q): %v", k, err)
		}
		if err := c.Delete(ctx, k); err != nil {
			t.Fatalf("Delete(%q): %v", k, err)
		}
		if swapped, err := c.CAS(ctx, k, nil, []byte("w")); !swapped || err != nil {
			t.Fatalf("CAS(%q) of an absent key: got %v, %v; want true, nil", k, swapped, err)
		}
		owner := r.Replicas([]byte(k), rf)[0]
		want[owner] = append(want[owner], k, k, k, k, k)
	}
	if len(want) != 3 {
		t.Fatalf("the test keys have owners %v; want all three nodes", want)
	}
	if diff := cmp.Diff(want, fc.take()); diff != "" {
		t.Fatalf("keys received by each node (-want +got):\n%s", diff)
	}
	// Compact has no key: it goes to the first address, as without a ring.
	if err := c.Compact(ctx); err != nil {
		t.Fatalf("Compact: %v", err)
	}
	if diff := cmp.Diff(map[uint16][]string{3: {"(compact)"}}, fc.take()); diff != "" {
		t.Fatalf("Compact went (-want +got):\n%s", diff)
	}
}

// A dead first replica: reads and writes (never sent to it) go to the
// second, and with every replica dead to any node; the failure asks for
// the ring again.
func TestDeadReplica(t *testing.T) {
	const rf = 2
	ids := []uint16{1, 2, 3}
	fc, r := startCluster(t, rf, ids...)
	c := dialFake(t, Options{Addrs: []string{fc.nodes[3].addr()}, RingRefresh: -1, HedgeAfter: -1, SlowAfter: -1})
	ctx := context.Background()
	keys := testKeys(60)

	for _, dead := range [][]uint16{{1}, {1, 2}} {
		for _, id := range dead {
			fc.nodes[id].stop()
		}
		for _, n := range fc.nodes {
			for len(n.asked) > 0 {
				<-n.asked
			}
		}
		want := map[uint16][]string{}
		for _, k := range keys {
			if _, err := c.Get(ctx, k); err != nil && !errors.Is(err, ErrNotFound) {
				t.Fatalf("nodes %v dead: Get(%q): %v", dead, k, err)
			}
			if err := c.Set(ctx, k, []byte("v")); err != nil {
				t.Fatalf("nodes %v dead: Set(%q): %v", dead, k, err)
			}
			to := firstUp(r, rf, k, ids, dead...)
			want[to] = append(want[to], k, k)
		}
		if diff := cmp.Diff(want, fc.take()); diff != "" {
			t.Fatalf("nodes %v dead: keys received (-want +got):\n%s", dead, diff)
		}
		if len(dead) == 1 {
			// The refresh the failures asked for reaches a live node.
			// (The test's own timeout bounds this wait; later kicks
			// wait kickGap, so only the first is awaited.)
			select {
			case <-fc.nodes[2].asked:
			case <-fc.nodes[3].asked:
			}
		}
	}
}

// A read whose connection breaks after it was sent is retried on a fresh
// connection, then on the next replica; a write is never retried.
func TestLostReplyRetriesReadsOnly(t *testing.T) {
	const rf = 2
	fc, r := startCluster(t, rf, 1, 2, 3)
	fc.setHangUp(1)
	c := dialFake(t, Options{Addrs: []string{fc.nodes[3].addr()}, RingRefresh: -1, HedgeAfter: -1, SlowAfter: -1})
	ctx := context.Background()
	var key string
	for _, k := range testKeys(60) {
		if r.Replicas([]byte(k), rf)[0] == 1 {
			key = k
			break
		}
	}
	second := r.Replicas([]byte(key), rf)[1]

	if _, err := c.Get(ctx, key); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get(%q) with its first replica hanging up: got %v, want ErrNotFound from the second", key, err)
	}
	want := map[uint16][]string{1: {key, key}, second: {key}}
	if diff := cmp.Diff(want, fc.take()); diff != "" {
		t.Fatalf("Get: keys received (-want +got):\n%s", diff)
	}
	if err := c.Set(ctx, key, []byte("v")); !errors.Is(err, ErrUnknownOutcome) {
		t.Fatalf("Set(%q) with its first replica hanging up: got %v, want ErrUnknownOutcome", key, err)
	}
	if diff := cmp.Diff(map[uint16][]string{1: {key}}, fc.take()); diff != "" {
		t.Fatalf("Set: keys received (-want +got); a sent write must not be sent again:\n%s", diff)
	}
	if _, err := c.CAS(ctx, key, nil, []byte("v")); !errors.Is(err, ErrUnknownOutcome) {
		t.Fatalf("CAS(%q) with its first replica hanging up: got %v, want ErrUnknownOutcome", key, err)
	}
	if diff := cmp.Diff(map[uint16][]string{1: {key}}, fc.take()); diff != "" {
		t.Fatalf("CAS: keys received (-want +got); a sent CAS must not be sent again:\n%s", diff)
	}
}

// Nodes that do not serve the ring: the client keeps to its addresses,
// starting with the one that answered, and moves on when it dies.
func TestNoRingKeepsAddrs(t *testing.T) {
	fc := startNodes(t, 1, 2)
	c := dialFake(t, Options{Addrs: []string{fc.nodes[1].addr(), fc.nodes[2].addr()}, HedgeAfter: -1, SlowAfter: -1})
	if rt := c.route.Load(); rt != nil {
		t.Fatalf("the client routes by %+v; want no route", rt)
	}
	ctx := context.Background()
	if err := c.learn(ctx); !errors.Is(err, errNoRing) {
		t.Fatalf("learn: got %v, want errNoRing", err)
	}
	keys := testKeys(20)
	for _, k := range keys {
		if err := c.Set(ctx, k, []byte("v")); err != nil {
			t.Fatalf("Set(%q): %v", k, err)
		}
	}
	if diff := cmp.Diff(map[uint16][]string{1: keys}, fc.take()); diff != "" {
		t.Fatalf("keys received (-want +got):\n%s", diff)
	}
	fc.nodes[1].stop()
	for _, k := range keys {
		if _, err := c.Get(ctx, k); err != nil {
			t.Fatalf("Get(%q) with the first node gone: %v", k, err)
		}
	}
	if diff := cmp.Diff(map[uint16][]string{2: keys}, fc.take()); diff != "" {
		t.Fatalf("keys received with the first node gone (-want +got):\n%s", diff)
	}
}

// An answer to Ring the client cannot use is an error of the refresh, not
// of Dial: the client goes on without a route, through its addresses.
func TestBadRingFallsBack(t *testing.T) {
	good := virtualRing(t, 1, 1)
	enc := good.Encode()
	flip := func(b []byte, i int) []byte {
		b = append([]byte(nil), b...)
		b[(i+len(b))%len(b)] ^= 0x55
		return b
	}
	empty, err := ring.New(1, nil)
	if err != nil {
		t.Fatal(err)
	}
	at := func(addrs ...string) []net.NodeAddr {
		var as []net.NodeAddr
		for _, a := range addrs {
			as = append(as, net.NodeAddr{Node: 1, Addr: a})
		}
		return as
	}
	tests := []struct {
		name   string
		answer func(addr string) net.Message
		want   error
	}{
		{"garbage", func(a string) net.Message {
			return &net.RingInfo{Replicas: 1, Ring: []byte("not a ring"), Addrs: at(a)}
		}, ring.ErrCorrupt},
		{"no bytes", func(a string) net.Message { return &net.RingInfo{Replicas: 1, Addrs: at(a)} }, ring.ErrCorrupt},
		{"bad checksum", func(a string) net.Message {
			return &net.RingInfo{Replicas: 1, Ring: flip(enc, -1), Addrs: at(a)}
		}, ring.ErrCorrupt},
		{"truncated", func(a string) net.Message {
			return &net.RingInfo{Replicas: 1, Ring: enc[:len(enc)-3], Addrs: at(a)}
		}, ring.ErrCorrupt},
		{"other version", func(a string) net.Message {
			return &net.RingInfo{Replicas: 1, Ring: flip(enc, 4), Addrs: at(a)}
		}, ring.ErrVersion},
		{"empty ring", func(a string) net.Message {
			return &net.RingInfo{Replicas: 1, Ring: empty.Encode(), Addrs: at(a)}
		}, errRing},
		{"rf 0", func(a string) net.Message { return &net.RingInfo{Ring: enc, Addrs: at(a)} }, errRing},
		{"no addresses", func(a string) net.Message { return &net.RingInfo{Replicas: 1, Ring: enc} }, errRing},
		{"undialable addresses", func(a string) net.Message {
			return &net.RingInfo{Replicas: 1, Ring: enc, Addrs: []net.NodeAddr{
				{Node: 1, Addr: ":7400"}, {Node: 2, Addr: "0.0.0.0:1"}, {Node: 3, Addr: "[::]:1"}, {Node: 4, Addr: "nohost"}, {Node: 5, Addr: ""},
			}}
		}, errRing},
		{"two addresses", func(a string) net.Message { return &net.RingInfo{Replicas: 1, Ring: enc, Addrs: at(a, a)} }, errRing},
		{"wrong reply", func(string) net.Message { return &net.Value{} }, errProtocol},
		{"error reply", func(string) net.Message { return &net.Error{Code: net.CodeInternal, Message: "scripted"} }, &net.Error{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fc := startNodes(t, 1)
			addr := fc.nodes[1].addr()
			fc.setRing(tc.answer(addr))
			c := dialFake(t, Options{Addrs: []string{addr}, RingRefresh: -1, HedgeAfter: -1, SlowAfter: -1})
			if rt := c.route.Load(); rt != nil {
				t.Fatalf("the client routes by %+v; want no route", rt)
			}
			err := c.learn(context.Background())
			var ne *net.Error
			if _, isNetErr := tc.want.(*net.Error); isNetErr && !errors.As(err, &ne) || !isNetErr && !errors.Is(err, tc.want) {
				t.Fatalf("learn: got %v, want %v", err, tc.want)
			}
			if err := c.Set(context.Background(), "k", []byte("v")); err != nil {
				t.Fatalf("Set without a route: %v", err)
			}
			if diff := cmp.Diff(map[uint16][]string{1: {"k"}}, fc.take()); diff != "" {
				t.Fatalf("keys received (-want +got):\n%s", diff)
			}
		})
	}
}

// A refresh follows the ring to a later epoch, never back to an earlier
// one; RingRefresh asks periodically.
func TestRefresh(t *testing.T) {
	const rf = 2
	ids := []uint16{1, 2, 3}
	fc, r1 := startCluster(t, rf, ids...)
	c := dialFake(t, Options{Addrs: []string{fc.nodes[1].addr()}, RingRefresh: -1, HedgeAfter: -1, SlowAfter: -1})
	ctx := context.Background()

	r2, err := r1.Without(1)
	if err != nil {
		t.Fatal(err)
	}
	fc.setRing(fc.info(r2, rf))
	if err := c.learn(ctx); err != nil {
		t.Fatalf("learn: %v", err)
	}
	if got := c.route.Load().epoch; got != r2.Epoch() {
		t.Fatalf("after a refresh the client routes by epoch %d, want %d", got, r2.Epoch())
	}
	want := map[uint16][]string{}
	for _, k := range testKeys(40) {
		if err := c.Set(ctx, k, []byte("v")); err != nil {
			t.Fatalf("Set(%q): %v", k, err)
		}
		owner := r2.Replicas([]byte(k), rf)[0]
		want[owner] = append(want[owner], k)
	}
	if diff := cmp.Diff(want, fc.take()); diff != "" {
		t.Fatalf("keys received on the new ring (-want +got):\n%s", diff)
	}

	fc.setRing(fc.info(r1, rf))
	if err := c.learn(ctx); err != nil {
		t.Fatalf("learn: %v", err)
	}
	if got := c.route.Load().epoch; got != r2.Epoch() {
		t.Fatalf("a node on epoch %d turned the client back from %d to %d", r1.Epoch(), r2.Epoch(), got)
	}

	// Periodic refreshes: each one asks some node.
	p := dialFake(t, Options{Addrs: []string{fc.nodes[1].addr()}, RingRefresh: time.Millisecond})
	for range 3 {
		select {
		case <-fc.nodes[1].asked:
		case <-fc.nodes[2].asked:
		case <-fc.nodes[3].asked:
		}
	}
	p.Close()
}

// NoRouting: the client never asks for the ring.
func TestNoRouting(t *testing.T) {
	fc, _ := startCluster(t, 2, 1, 2, 3)
	c := dialFake(t, Options{Addrs: []string{fc.nodes[1].addr()}, NoRouting: true})
	keys := testKeys(20)
	for _, k := range keys {
		if err := c.Set(context.Background(), k, []byte("v")); err != nil {
			t.Fatalf("Set(%q): %v", k, err)
		}
	}
	if diff := cmp.Diff(map[uint16][]string{1: keys}, fc.take()); diff != "" {
		t.Fatalf("keys received (-want +got):\n%s", diff)
	}
	if rt, n := c.route.Load(), len(fc.nodes[1].asked); rt != nil || n != 0 {
		t.Fatalf("without routing: route %+v after %d asks; want none", rt, n)
	}
}
