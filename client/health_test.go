package client

import (
	"context"
	"errors"
	"testing"
	"time"

	stdnet "net"

	"github.com/google/go-cmp/cmp"
	"github.com/memdb/memdb/net"
	"github.com/memdb/memdb/node/ring"
	"pgregory.net/rapid"
)

// keyFirstOn returns n keys whose first replica (at rf) is id.
func keyFirstOn(t *testing.T, r ring.Ring, rf int, id uint16, n int) []string {
	t.Helper()
	var keys []string
	for _, k := range testKeys(2000) {
		if r.Replicas([]byte(k), rf)[0] == id {
			keys = append(keys, k)
			if len(keys) == n {
				return keys
			}
		}
	}
	t.Fatalf("fewer than %d of the test keys have node %d first", n, id)
	return nil
}

// waitFor polls cond until it holds; the test's own timeout bounds it.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for start := time.Now(); !cond(); time.Sleep(5 * time.Millisecond) {
		if time.Since(start) > 20*time.Second {
			t.Fatalf("still not %s after 20 s", what)
		}
	}
}

// poolOf returns the client's pool of the fake node.
func poolOf(t *testing.T, c *Client, n *fakeNode) *pool {
	t.Helper()
	p, err := c.pool(n.addr())
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// A write sent to a node that stopped answering is never sent again: it
// ends unknown. The node is then slow, and later writes of keys it would
// coordinate go to their next replica; once the node answers again (its
// held replies arrive), it coordinates them again.
//
// SlowAfter is an hour, so that the slow bound is always a quarter of the
// call's time (see slowBound): 250 ms for the write to the paused node,
// which it must find slow, and 15 s for the writes whose exact routing is
// checked, so that a healthy fake node that the scheduler holds up for a
// while (a loaded machine) is not found slow and routed around.
func TestSlowNodeWrites(t *testing.T) {
	const rf = 3
	fc, r := startCluster(t, rf, 1, 2, 3)
	c := dialFake(t, Options{Addrs: []string{fc.nodes[2].addr()}, RingRefresh: -1, SlowAfter: time.Hour})
	ctx := context.Background()
	keys := keyFirstOn(t, r, rf, 1, 20)
	fc.take()

	fc.nodes[1].pause()
	err := c.Set(ctx, keys[0], []byte("v"), WithTimeout(time.Second))
	if !isAll(err, ErrUnknownOutcome, ErrTimeout) {
		t.Fatalf("Set(%q) with node 1 paused: got %v, want ErrUnknownOutcome and ErrTimeout", keys[0], err)
	}
	if diff := cmp.Diff(map[uint16][]string{1: {keys[0]}}, fc.take()); diff != "" {
		t.Fatalf("the write sent to the paused node (-want +got); it must not be sent again:\n%s", diff)
	}
	p1 := poolOf(t, c, fc.nodes[1])
	if !p1.health.isSlow() {
		t.Fatalf("node 1 left a write unanswered for 1 s and is not slow")
	}
	want := map[uint16][]string{}
	for _, k := range keys[1:] {
		if err := c.Set(ctx, k, []byte("v"), WithTimeout(time.Minute)); err != nil {
			t.Fatalf("Set(%q) with node 1 slow: %v", k, err)
		}
		second := r.Replicas([]byte(k), rf)[1]
		want[second] = append(want[second], k)
	}
	if diff := cmp.Diff(want, fc.take()); diff != "" {
		t.Fatalf("with node 1 slow, writes went (-want +got):\n%s", diff)
	}

	fc.nodes[1].resume()
	waitFor(t, "healthy once node 1 answers again", func() bool { return !p1.health.isSlow() })
	if err := c.Set(ctx, keys[1], []byte("w"), WithTimeout(time.Minute)); err != nil {
		t.Fatalf("Set(%q) after node 1 resumed: %v", keys[1], err)
	}
	if diff := cmp.Diff(map[uint16][]string{1: {keys[1]}}, fc.take()); diff != "" {
		t.Fatalf("after node 1 resumed, the write went (-want +got):\n%s", diff)
	}
}

// A read its node does not answer is sent to the next replica as well,
// and the first answer wins. The node is then found slow even though the
// hedge answered the call; later reads, serial ones too, go elsewhere
// first.
func TestHedgedReads(t *testing.T) {
	const rf = 3
	fc, r := startCluster(t, rf, 1, 2, 3)
	c := dialFake(t, Options{Addrs: []string{fc.nodes[2].addr()}, RingRefresh: -1})
	ctx := context.Background()
	keys := keyFirstOn(t, r, rf, 1, 3)
	if err := c.Set(ctx, keys[0], []byte("v")); err != nil {
		t.Fatal(err)
	}
	fc.take()

	fc.nodes[1].pause()
	second := r.Replicas([]byte(keys[0]), rf)[1]
	if v, err := c.Get(ctx, keys[0], WithTimeout(time.Hour)); err != nil || string(v) != "v" {
		t.Fatalf("Get(%q) with node 1 paused: got %q, %v; want \"v\" from the hedge", keys[0], v, err)
	}
	if diff := cmp.Diff(map[uint16][]string{1: {keys[0]}, second: {keys[0]}}, fc.take()); diff != "" {
		t.Fatalf("the read went (-want +got):\n%s", diff)
	}
	waitFor(t, "slow after a hedged read", poolOf(t, c, fc.nodes[1]).health.isSlow)
	// Slow now: the next reads go to the second replica first.
	for _, k := range keys[1:] {
		if _, err := c.Get(ctx, k, WithConsistency(net.Serial)); !errors.Is(err, ErrNotFound) {
			t.Fatalf("serial Get(%q) with node 1 slow: got %v, want ErrNotFound", k, err)
		}
		if _, err := c.Contains(ctx, k); err != nil {
			t.Fatalf("Contains(%q) with node 1 slow: %v", k, err)
		}
	}
	for id := range fc.take() {
		if id == 1 {
			t.Fatalf("node 1 got reads while slow")
		}
	}
}

// A serial read is not hedged: it runs a Paxos round, and a second
// coordinator of the key would fight the first over ballots. One whose
// node is silent waits for that node, as a write does.
func TestSerialReadNotHedged(t *testing.T) {
	const rf = 3
	fc, r := startCluster(t, rf, 1, 2, 3)
	c := dialFake(t, Options{Addrs: []string{fc.nodes[2].addr()}, RingRefresh: -1, SlowAfter: time.Hour})
	key := keyFirstOn(t, r, rf, 1, 1)[0]
	fc.take()
	fc.nodes[1].pause()
	if _, err := c.Get(context.Background(), key, WithConsistency(net.Serial), WithTimeout(300*time.Millisecond)); !errors.Is(err, ErrTimeout) {
		t.Fatalf("serial Get(%q) with node 1 paused: got %v, want ErrTimeout", key, err)
	}
	if diff := cmp.Diff(map[uint16][]string{1: {key}}, fc.take()); diff != "" {
		t.Fatalf("the serial reads went (-want +got):\n%s", diff)
	}
}

// A hedge never costs the call the first attempt's answer: here the hedge
// goes to a node whose dial hangs (it accepts connections and never
// greets them) and which is the call's last resort, so its dial is
// unbounded but for the call's deadline. The first node answers once that
// dial has begun, and the call returns its answer, well before the
// deadline.
func TestHedgeThatCannotDialDoesNotBlock(t *testing.T) {
	fc := startNodes(t, 1)
	ln, err := stdnet.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	dialing := make(chan struct{})
	go func() {
		var held []stdnet.Conn
		defer func() {
			for _, nc := range held {
				nc.Close()
			}
		}()
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			if held = append(held, nc); len(held) == 1 {
				close(dialing)
			}
		}
	}()
	// Without a ring (the fake does not serve one) every node is a last
	// resort (cursor.lastResort); node 1 answered Dial, so reads go to it
	// first and are hedged to the black hole.
	c := dialFake(t, Options{Addrs: []string{fc.nodes[1].addr(), ln.Addr().String()}, RingRefresh: -1})
	ctx := context.Background()
	if err := c.Set(ctx, "k", []byte("v")); err != nil {
		t.Fatal(err)
	}
	fc.nodes[1].pause()
	go func() {
		<-dialing
		fc.nodes[1].resume()
	}()
	start := time.Now()
	v, err := c.Get(ctx, "k", WithTimeout(5*time.Second))
	if err != nil || string(v) != "v" {
		t.Fatalf("Get with its hedge's dial hanging: got %q, %v; want \"v\" from node 1", v, err)
	}
	if d := time.Since(start); d > 4*time.Second {
		t.Fatalf("Get with its hedge's dial hanging took %v: the answer waited for the dial", d)
	}
	select {
	case <-dialing:
	default:
		t.Fatalf("the read was not hedged")
	}
}

// A slow node that lost its connection (so no late answer will come) is
// brought back by a probe on a new connection.
func TestProbeBringsSlowNodeBack(t *testing.T) {
	const rf = 3
	fc, r := startCluster(t, rf, 1, 2, 3)
	c := dialFake(t, Options{Addrs: []string{fc.nodes[2].addr()}, RingRefresh: -1, SlowAfter: 100 * time.Millisecond})
	key := keyFirstOn(t, r, rf, 1, 1)[0]
	fc.nodes[1].pause()
	if _, err := c.Get(context.Background(), key); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get(%q) with node 1 paused: got %v, want ErrNotFound from the hedge", key, err)
	}
	p1 := poolOf(t, c, fc.nodes[1])
	waitFor(t, "slow", p1.health.isSlow)
	for len(fc.nodes[1].asked) > 0 {
		<-fc.nodes[1].asked
	}
	fc.nodes[1].dropConns()
	fc.nodes[1].resume()
	waitFor(t, "healthy after a probe", func() bool { return !p1.health.isSlow() })
	select {
	case <-fc.nodes[1].asked:
	default:
		t.Fatalf("node 1 is healthy again without having been probed")
	}
}

// Without routing, calls go to the node that answered last and nothing
// is hedged: a client of one node waits for that node.
func TestNoHedgeWithoutRouting(t *testing.T) {
	fc := startNodes(t, 1, 2)
	c := dialFake(t, Options{Addrs: []string{fc.nodes[1].addr(), fc.nodes[2].addr()}, NoRouting: true})
	fc.nodes[1].pause()
	_, err := c.Get(context.Background(), "k", WithTimeout(200*time.Millisecond))
	if !errors.Is(err, ErrTimeout) {
		t.Fatalf("Get with the only routed node paused: got %v, want ErrTimeout", err)
	}
	if diff := cmp.Diff(map[uint16][]string{1: {"k"}}, fc.take()); diff != "" {
		t.Fatalf("the read went (-want +got):\n%s", diff)
	}
}

// A request overdue makes its node slow only if nothing came from the
// node since it was sent, and only once.
func TestOverdue(t *testing.T) {
	for _, tc := range []struct {
		name        string
		heard, sent int64
		slow        int64
		want        bool
	}{
		{"nothing heard since", 5, 10, 0, true},
		{"never heard", 0, 10, 0, true},
		{"heard since", 15, 10, 0, false},
		{"heard as sent", 10, 10, 0, false},
		{"already slow", 5, 10, 7, false},
	} {
		var h health
		h.heard.Store(tc.heard)
		h.slow.Store(tc.slow)
		if got := h.overdue(tc.sent, 20); got != tc.want {
			t.Errorf("%s: overdue(sent %d) with heard %d, slow %d = %v, want %v", tc.name, tc.sent, tc.heard, tc.slow, got, tc.want)
		}
	}
	var h health
	h.overdue(10, 20)
	h.hear(30)
	if h.isSlow() {
		t.Errorf("a node heard from after it was found slow is still slow")
	}
}

// Any latencies: the estimate's mean stays within the samples' range, its
// high is at least its mean, and a steady latency is learnt.
//
// Reproduce a failure with go test ./client -run TestPropEstimate
// -rapid.seed=N (rapid prints N).
func TestPropEstimate(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		samples := rapid.SliceOfN(rapid.Int64Range(1, int64(time.Minute)), 1, 50).Draw(rt, "samples")
		var e estimate
		lo, hi := samples[0], samples[0]
		for _, d := range samples {
			e.observe(d)
			lo, hi = min(lo, d), max(hi, d)
			if s := e.srtt.Load(); s < lo || s > hi {
				rt.Fatalf("mean %d outside the samples' range [%d, %d]", s, lo, hi)
			}
			if e.high() < e.srtt.Load() {
				rt.Fatalf("high %d below the mean %d", e.high(), e.srtt.Load())
			}
		}
		steady := rapid.Int64Range(1000, int64(time.Second)).Draw(rt, "steady")
		for range 200 {
			e.observe(steady)
		}
		if s := e.srtt.Load(); s < steady*99/100 || s > steady*101/100+8 {
			rt.Fatalf("after 200 samples of %d the mean is %d", steady, s)
		}
	})
}

// The bounds: the slow bound is slowFactor times the high latency, at
// least SlowAfter and at most a share of the call's time; the hedge delay
// the high latency, at least HedgeAfter, at most the slow bound.
func TestBounds(t *testing.T) {
	c := &Client{opts: Options{SlowAfter: 50 * time.Millisecond, HedgeAfter: 2 * time.Millisecond}}
	var h health
	ms := int64(time.Millisecond)
	if got := c.slowBound(&h, classRead, 0); got != 50*ms {
		t.Errorf("no samples: slow bound %v, want the floor 50ms", time.Duration(got))
	}
	if got := c.hedgeDelay(&h, classRead, 50*ms); got != 2*ms {
		t.Errorf("no samples: hedge delay %v, want the floor 2ms", time.Duration(got))
	}
	h.lat[classWrite].srtt.Store(10 * ms)
	h.lat[classWrite].rttvar.Store(5 * ms) // high: 30 ms
	if got := c.slowBound(&h, classWrite, 0); got != 240*ms {
		t.Errorf("high 30ms: slow bound %v, want 240ms", time.Duration(got))
	}
	if got := c.slowBound(&h, classWrite, 400*time.Millisecond); got != 100*ms {
		t.Errorf("high 30ms, 400ms left: slow bound %v, want 100ms", time.Duration(got))
	}
	if got := c.hedgeDelay(&h, classWrite, 240*ms); got != 30*ms {
		t.Errorf("high 30ms: hedge delay %v, want 30ms", time.Duration(got))
	}
	if got := c.hedgeDelay(&h, classWrite, 20*ms); got != 20*ms {
		t.Errorf("high 30ms, slow bound 20ms: hedge delay %v, want 20ms", time.Duration(got))
	}
	if got := c.slowBound(&h, classRead, 0); got != 50*ms {
		t.Errorf("classes are apart: read slow bound %v, want the floor 50ms", time.Duration(got))
	}
}

// A hedged read's first node, answering after the hedge did, still gives
// its latency a sample: the estimate sees the slow answers it hedged
// around rather than only the fast ones.
func TestHedgedReadLateAnswerSampled(t *testing.T) {
	const rf = 3
	fc, r := startCluster(t, rf, 1, 2, 3)
	c := dialFake(t, Options{Addrs: []string{fc.nodes[2].addr()}, RingRefresh: -1, SlowAfter: time.Hour})
	ctx := context.Background()
	keys := keyFirstOn(t, r, rf, 1, 1)
	if err := c.Set(ctx, keys[0], []byte("v")); err != nil {
		t.Fatal(err)
	}
	lat := &poolOf(t, c, fc.nodes[1]).health.lat[classRead]
	if lat.srtt.Load() != 0 {
		t.Fatalf("node 1 has a read latency before any read: %d ns", lat.srtt.Load())
	}
	fc.nodes[1].pause()
	if v, err := c.Get(ctx, keys[0], WithTimeout(time.Hour)); err != nil || string(v) != "v" {
		t.Fatalf("Get(%q) with node 1 paused: got %q, %v; want \"v\" from the hedge", keys[0], v, err)
	}
	time.Sleep(20 * time.Millisecond) // node 1's answer is later than the hedge's
	fc.nodes[1].resume()
	waitFor(t, "node 1's late answer sampled", func() bool { return lat.srtt.Load() >= int64(20*time.Millisecond) })
}
