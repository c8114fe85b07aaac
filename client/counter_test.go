package client

import (
	"context"
	"errors"
	"math"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/memdb/memdb/net"
	"github.com/memdb/memdb/node/ring"
)

// counterFake is the counter store of one or more fake nodes: it applies
// an increment once per operation id (session, seq), answering a repeat
// with the first result, as a node's applied-ops table does, and records
// every counter request with the node that got it. A key in plain holds a
// plain value: counter requests on it, like Get, Set and Delete of a
// counter, are answered CodeWrongKind.
type counterFake struct {
	mu      sync.Mutex
	values  map[string]int64
	applied map[[2]uint64]int64
	plain   map[string]bool
	got     []counterReq
	// script, if set, decides how each Incr is handled (see act).
	script func(m *net.Incr) act
}

// act is what a fake node does with one request: answer it with msg
// (nil: apply it), hang up, or never answer.
type act struct {
	msg    net.Message
	hangUp bool
	silent bool
}

// counterReq is a request a fake node received.
type counterReq struct {
	node string
	msg  net.Message
}

func newCounterFake() *counterFake {
	return &counterFake{values: map[string]int64{}, applied: map[[2]uint64]int64{}, plain: map[string]bool{}}
}

// serve answers the requests of one connection of the node named node.
func (cf *counterFake) serve(node string) func(*fakeConn) {
	return func(c *fakeConn) {
		for {
			f, err := c.read()
			if err != nil {
				return
			}
			cf.mu.Lock()
			cf.got = append(cf.got, counterReq{node, f.Msg})
			var a act
			if m, ok := f.Msg.(*net.Incr); ok && cf.script != nil {
				a = cf.script(m)
			}
			if a.msg == nil && !a.hangUp && !a.silent {
				a.msg = cf.apply(f.Msg)
			}
			cf.mu.Unlock()
			switch {
			case a.hangUp:
				return
			case a.silent:
				continue
			}
			// Answered apart, so that a paused node still reads (and
			// records) the requests that follow.
			go func() {
				c.node.hold()
				c.write(net.Frame{ID: f.ID, Msg: a.msg})
			}()
		}
	}
}

func (cf *counterFake) apply(m net.Message) net.Message {
	wrong := &net.Error{Code: net.CodeWrongKind, Message: "the key holds another kind of value"}
	switch m := m.(type) {
	case *net.Incr:
		if cf.plain[string(m.Key)] {
			return wrong
		}
		id := [2]uint64{m.Session, m.Seq}
		if v, ok := cf.applied[id]; ok {
			return &net.CounterValue{Value: v}
		}
		cf.values[string(m.Key)] += m.Delta
		cf.applied[id] = cf.values[string(m.Key)]
		return &net.CounterValue{Value: cf.values[string(m.Key)]}
	case *net.GetCounter:
		if cf.plain[string(m.Key)] {
			return wrong
		}
		return &net.CounterValue{Value: cf.values[string(m.Key)]}
	case *net.Get:
		if _, ok := cf.values[string(m.Key)]; ok {
			return wrong
		}
		return &net.Value{Found: cf.plain[string(m.Key)], Value: []byte("plain")}
	case *net.Set:
		if _, ok := cf.values[string(m.Key)]; ok {
			return wrong
		}
		cf.plain[string(m.Key)] = true
		return &net.Done{}
	}
	return &net.Error{Code: net.CodeUnknownKind, Message: "not served by the fake"}
}

// requests returns what the nodes received, in order.
func (cf *counterFake) requests() []counterReq {
	cf.mu.Lock()
	defer cf.mu.Unlock()
	return append([]counterReq(nil), cf.got...)
}

// incrs returns the Incr requests received, and the nodes they reached.
func (cf *counterFake) incrs() ([]*net.Incr, []string) {
	var ms []*net.Incr
	var nodes []string
	for _, r := range cf.requests() {
		if m, ok := r.msg.(*net.Incr); ok {
			ms = append(ms, m)
			nodes = append(nodes, r.node)
		}
	}
	return ms, nodes
}

// checkAttempts checks that ms are the attempts of one call, in order:
// one operation id, attempts 0, 1, 2..., one First clock.
func checkAttempts(t *testing.T, ms []*net.Incr) {
	t.Helper()
	if len(ms) == 0 {
		t.Fatal("no Incr was sent")
	}
	for i, m := range ms {
		if m.Session != ms[0].Session || m.Seq != ms[0].Seq {
			t.Errorf("attempt %d carries op id (%x, %d); the first carried (%x, %d)", i, m.Session, m.Seq, ms[0].Session, ms[0].Seq)
		}
		if m.Attempt != uint32(i) {
			t.Errorf("request %d has Attempt %d, want %d", i, m.Attempt, i)
		}
		if m.First != ms[0].First {
			t.Errorf("attempt %d carries First %v; the first carried %v", i, m.First, ms[0].First)
		}
		if m.Delta != ms[0].Delta || string(m.Key) != string(ms[0].Key) || m.Level != ms[0].Level {
			t.Errorf("attempt %d is %+v; the first was %+v", i, m, ms[0])
		}
	}
}

func TestIncrAndCounter(t *testing.T) {
	cf := newCounterFake()
	n := startFake(t, "", cf.serve("a"))
	c := dialFake(t, Options{Addrs: []string{n.addr()}})
	ctx := context.Background()
	steps := []struct {
		name string
		do   func() (int64, error)
		want int64
	}{
		{"counter of a key never incremented", func() (int64, error) { return c.Counter(ctx, "k") }, 0},
		{"incr 5", func() (int64, error) { return c.Incr(ctx, "k", 5) }, 5},
		{"incr -2 at one", func() (int64, error) { return c.Incr(ctx, "k", -2, WithConsistency(net.One)) }, 3},
		{"decr 10 at all", func() (int64, error) { return c.Decr(ctx, "k", 10, WithConsistency(net.All)) }, -7},
		{"counter at quorum", func() (int64, error) { return c.Counter(ctx, "k", WithConsistency(net.Quorum)) }, -7},
		{"incr max", func() (int64, error) { return c.Incr(ctx, "big", math.MaxInt64) }, math.MaxInt64},
	}
	for _, s := range steps {
		if got, err := s.do(); err != nil || got != s.want {
			t.Fatalf("%s: got %d, %v; want %d", s.name, got, err, s.want)
		}
	}
	ms, _ := cf.incrs()
	if len(ms) != 4 {
		t.Fatalf("%d Incr requests; want 4 (each answered at once, none retried)", len(ms))
	}
	want := []net.Incr{
		{Level: net.Default, Key: []byte("k"), Delta: 5},
		{Level: net.One, Key: []byte("k"), Delta: -2},
		{Level: net.All, Key: []byte("k"), Delta: -10},
		{Level: net.Default, Key: []byte("big"), Delta: math.MaxInt64},
	}
	for i, m := range ms {
		if m.Session == 0 || m.Session != ms[0].Session {
			t.Errorf("Incr %d has session %x; want the client's one nonzero session (%x)", i, m.Session, ms[0].Session)
		}
		if m.Seq != ms[0].Seq+uint64(i) {
			t.Errorf("Incr %d has seq %d; want %d (one more per call)", i, m.Seq, ms[0].Seq+uint64(i))
		}
		got := net.Incr{Level: m.Level, Key: m.Key, Delta: m.Delta}
		if diff := cmp.Diff(want[i], got); diff != "" || m.Attempt != 0 {
			t.Errorf("Incr %d (-want +got), attempt %d:\n%s", i, m.Attempt, diff)
		}
	}
	var reads []net.Message
	for _, r := range cf.requests() {
		if _, ok := r.msg.(*net.GetCounter); ok {
			reads = append(reads, r.msg)
		}
	}
	wantReads := []net.Message{&net.GetCounter{Key: []byte("k")}, &net.GetCounter{Level: net.Quorum, Key: []byte("k")}}
	if diff := cmp.Diff(wantReads, reads); diff != "" {
		t.Errorf("counter reads sent (-want +got):\n%s", diff)
	}
	// Another client is another session.
	other := dialFake(t, Options{Addrs: []string{n.addr()}})
	if _, err := other.Incr(ctx, "k", 1); err != nil {
		t.Fatal(err)
	}
	ms, _ = cf.incrs()
	if last := ms[len(ms)-1]; last.Session == ms[0].Session {
		t.Errorf("two clients share session %x", last.Session)
	}
}

// An increment whose outcome is unknown is sent again to the same node
// with the same operation id until an answer says what happened: answers
// of CodeUnknownOutcome and a connection lost after sending are retried
// (on a new connection), with Attempt counting and First unchanged; the
// second address is never tried.
func TestIncrRetriesUnknownOutcome(t *testing.T) {
	cf := newCounterFake()
	cf.script = func(m *net.Incr) act {
		switch m.Attempt {
		case 0, 2:
			return act{msg: &net.Error{Code: net.CodeUnknownOutcome, Message: "replicas silent"}}
		case 1, 3:
			return act{hangUp: true}
		}
		return act{}
	}
	n := startFake(t, "", cf.serve("a"))
	spare := newCounterFake()
	other := startFake(t, "", spare.serve("b"))
	c := dialFake(t, Options{Addrs: []string{n.addr(), other.addr()}})
	v, err := c.Incr(context.Background(), "k", 7)
	if err != nil || v != 7 {
		t.Fatalf("Incr: got %d, %v; want 7, nil", v, err)
	}
	ms, _ := cf.incrs()
	if len(ms) != 5 {
		t.Fatalf("%d attempts reached the node; want 5", len(ms))
	}
	checkAttempts(t, ms)
	if got := spare.requests(); len(got) != 0 {
		t.Errorf("the second address received %d requests; want none", len(got))
	}
	if v, err := c.Counter(context.Background(), "k"); err != nil || v != 7 {
		t.Errorf("Counter after the retries: got %d, %v; want 7 (applied once)", v, err)
	}
}

// Errors that say the increment was not applied end the call at once,
// without a retry, as the sentinel of their code.
func TestIncrDefiniteErrors(t *testing.T) {
	tests := []struct {
		code net.Code
		want error // nil: only the *net.Error
	}{
		{net.CodeUnavailable, ErrQuorum},
		{net.CodeWrongKind, ErrWrongKind},
		{net.CodeUnsupported, nil},
		{net.CodeBadKey, nil},
		{net.CodeTooLarge, nil},
		{net.CodeInternal, nil},
	}
	for _, tc := range tests {
		t.Run(tc.code.String(), func(t *testing.T) {
			cf := newCounterFake()
			cf.script = func(*net.Incr) act { return act{msg: &net.Error{Code: tc.code, Message: "scripted"}} }
			n := startFake(t, "", cf.serve("a"))
			c := dialFake(t, Options{Addrs: []string{n.addr()}})
			_, err := c.Incr(context.Background(), "k", 1)
			var ne *net.Error
			if !errors.As(err, &ne) || ne.Code != tc.code {
				t.Errorf("got %v; want a *net.Error with code %s", err, tc.code)
			}
			if tc.want != nil && !errors.Is(err, tc.want) {
				t.Errorf("got %v; want %v", err, tc.want)
			}
			if errors.Is(err, ErrUnknownOutcome) {
				t.Errorf("got %v; a definite failure is not ErrUnknownOutcome", err)
			}
			if ms, _ := cf.incrs(); len(ms) != 1 {
				t.Errorf("sent %d times; want once", len(ms))
			}
		})
	}
}

// A node that never answers: the call retries the same node with the same
// operation id until its deadline, then is ErrUnknownOutcome (and
// ErrTimeout). A reply of the wrong kind is unknown too, and not retried.
func TestIncrDeadline(t *testing.T) {
	cf := newCounterFake()
	cf.script = func(*net.Incr) act { return act{silent: true} }
	n := startFake(t, "", cf.serve("a"))
	spare := newCounterFake()
	other := startFake(t, "", spare.serve("b"))
	c := dialFake(t, Options{Addrs: []string{n.addr(), other.addr()}, Timeout: 400 * time.Millisecond})
	start := time.Now()
	_, err := c.Incr(context.Background(), "k", 1)
	if !isAll(err, ErrUnknownOutcome, ErrTimeout, context.DeadlineExceeded) {
		t.Fatalf("Incr to a silent node: got %v; want ErrUnknownOutcome, ErrTimeout and DeadlineExceeded", err)
	}
	if d := time.Since(start); d < 350*time.Millisecond {
		t.Errorf("gave up after %v; want the whole 400 ms", d)
	}
	ms, _ := cf.incrs()
	if len(ms) < 2 {
		t.Errorf("%d attempts in 400 ms; want a retry once an attempt has waited its share", len(ms))
	}
	checkAttempts(t, ms)
	if got := spare.requests(); len(got) != 0 {
		t.Errorf("the second address received %d requests; want none", len(got))
	}

	cf.mu.Lock()
	cf.script = func(*net.Incr) act { return act{msg: &net.Done{}} }
	cf.mu.Unlock()
	_, err = c.Incr(context.Background(), "k", 1, WithTimeout(5*time.Second))
	if !isAll(err, ErrUnknownOutcome, errProtocol) {
		t.Errorf("Incr answered with Done: got %v; want ErrUnknownOutcome and errProtocol", err)
	}
}

// counterCluster is three fake nodes serving one counterFake under a ring
// of them, rf 3.
func counterCluster(t *testing.T) (*counterFake, map[uint16]*fakeNode, ring.Ring) {
	cf := newCounterFake()
	nodes := map[uint16]*fakeNode{}
	ids := []uint16{1, 2, 3}
	for _, id := range ids {
		nodes[id] = startFake(t, "", cf.serve(string(rune('0'+id))))
	}
	r := virtualRing(t, 1, ids...)
	info := &net.RingInfo{Replicas: 3, Ring: r.Encode()}
	for _, id := range ids {
		info.Addrs = append(info.Addrs, net.NodeAddr{Node: id, Addr: nodes[id].addr()})
	}
	for _, n := range nodes {
		n.setRing(func() net.Message { return info })
	}
	return cf, nodes, r
}

// The retries of an increment go to the node that got the first attempt
// even once health tracking finds it slow and sends other writes of its
// keys elsewhere.
func TestIncrRetriesStayOnSlowNode(t *testing.T) {
	cf, nodes, r := counterCluster(t)
	c := dialFake(t, Options{Addrs: []string{nodes[2].addr()}, RingRefresh: -1, HedgeAfter: -1, Timeout: 8 * time.Second})
	keys := keyFirstOn(t, r, 3, 1, 2)
	p1 := poolOf(t, c, nodes[1])
	nodes[1].pause()
	done := make(chan error, 1)
	var got int64
	go func() {
		var err error
		got, err = c.Incr(context.Background(), keys[0], 3)
		done <- err
	}()
	// The first attempt waits a quarter of 8 s, then node 1 is slow; wait
	// for the retry that follows.
	waitFor(t, "a second attempt at node 1", func() bool { ms, _ := cf.incrs(); return len(ms) >= 2 })
	if !p1.health.isSlow() {
		t.Errorf("node 1 left an increment unanswered for its share of the call and is not slow")
	}
	// Another write of a key of node 1 goes elsewhere meanwhile.
	if err := c.Set(context.Background(), keys[1], []byte("v"), WithTimeout(time.Minute)); err != nil {
		t.Fatalf("Set with node 1 slow: %v", err)
	}
	nodes[1].resume()
	if err := <-done; err != nil || got != 3 {
		t.Fatalf("Incr: got %d, %v; want 3", got, err)
	}
	ms, where := cf.incrs()
	checkAttempts(t, ms)
	for i, n := range where {
		if n != "1" {
			t.Errorf("attempt %d went to node %s; every attempt must go to node 1", i, n)
		}
	}
	for _, req := range cf.requests() {
		if m, ok := req.msg.(*net.Set); ok && req.node == "1" {
			t.Errorf("the Set of %q went to node 1, which was slow", m.Key)
		}
	}
}

// A first attempt that cannot be sent — its node refuses the connection,
// or is shutting down — goes to the next node: nothing reached any node.
func TestIncrFirstAttemptMovesOn(t *testing.T) {
	cf, nodes, r := counterCluster(t)
	c := dialFake(t, Options{Addrs: []string{nodes[2].addr()}, RingRefresh: -1, HedgeAfter: -1, SlowAfter: -1})
	keys := keyFirstOn(t, r, 3, 1, 1)
	nodes[1].stop()
	if v, err := c.Incr(context.Background(), keys[0], 1); err != nil || v != 1 {
		t.Fatalf("Incr with its first replica down: got %d, %v; want 1", v, err)
	}
	ms, where := cf.incrs()
	second := r.Replicas([]byte(keys[0]), 3)[1]
	if len(ms) != 1 || ms[0].Attempt != 0 || where[0] != string(rune('0'+second)) {
		t.Errorf("attempts %+v at nodes %v; want one, attempt 0, at node %d", ms, where, second)
	}

	cf2, nodes2, r2 := counterCluster(t)
	cf2.script = func(m *net.Incr) act {
		if m.Attempt == 0 && len(cf2.got) == 1 {
			return act{msg: &net.Error{Code: net.CodeShuttingDown, Message: "stopping"}}
		}
		return act{}
	}
	c2 := dialFake(t, Options{Addrs: []string{nodes2[2].addr()}, RingRefresh: -1, HedgeAfter: -1, SlowAfter: -1})
	keys2 := keyFirstOn(t, r2, 3, 1, 1)
	if v, err := c2.Incr(context.Background(), keys2[0], 1); err != nil || v != 1 {
		t.Fatalf("Incr whose first node is shutting down: got %d, %v; want 1", v, err)
	}
	ms, where = cf2.incrs()
	second = r2.Replicas([]byte(keys2[0]), 3)[1]
	if len(ms) != 2 || where[0] != "1" || where[1] != string(rune('0'+second)) || ms[1].Attempt != 0 || ms[1].Seq != ms[0].Seq {
		t.Errorf("attempts %+v at nodes %v; want attempt 0 at node 1, then attempt 0 of the same op at node %d", ms, where, second)
	}
}

// Bad input is refused before anything is sent.
func TestIncrBadInput(t *testing.T) {
	cf := newCounterFake()
	n := startFake(t, "", cf.serve("a"))
	c := dialFake(t, Options{Addrs: []string{n.addr()}})
	serialByDefault := dialFake(t, Options{Addrs: []string{n.addr()}, Consistency: net.Serial})
	ctx := context.Background()
	serial := WithConsistency(net.Serial)
	tests := []struct {
		name string
		do   func() (int64, error)
		want error
	}{
		{"delta 0", func() (int64, error) { return c.Incr(ctx, "k", 0) }, ErrZeroDelta},
		{"decr 0", func() (int64, error) { return c.Decr(ctx, "k", 0) }, ErrZeroDelta},
		{"decr of MinInt64", func() (int64, error) { return c.Decr(ctx, "k", math.MinInt64) }, ErrOverflow},
		{"serial incr", func() (int64, error) { return c.Incr(ctx, "k", 1, serial) }, errOptions},
		{"serial counter", func() (int64, error) { return c.Counter(ctx, "k", serial) }, errOptions},
		{"incr by a serial client", func() (int64, error) { return serialByDefault.Incr(ctx, "k", 1) }, errOptions},
		{"not a level", func() (int64, error) { return c.Incr(ctx, "k", 1, WithConsistency(net.Serial+1)) }, errOptions},
		{"empty key", func() (int64, error) { return c.Incr(ctx, "", 1) }, net.ErrBadKey},
		{"oversized key", func() (int64, error) { return c.Counter(ctx, string(make([]byte, net.MaxKey+1))) }, net.ErrBadKey},
	}
	for _, tc := range tests {
		if v, err := tc.do(); v != 0 || !errors.Is(err, tc.want) {
			t.Errorf("%s: got %d, %v; want 0 and %v", tc.name, v, err, tc.want)
		}
	}
	if got := cf.requests(); len(got) != 0 {
		t.Errorf("the node received %v; want nothing", got)
	}
	if v, err := c.Decr(ctx, "k", math.MaxInt64); err != nil || v != -math.MaxInt64 {
		t.Errorf("Decr of MaxInt64: got %d, %v; want %d", v, err, int64(-math.MaxInt64))
	}
}

// A counter is its own kind: Incr or Counter of a plain key, and Get or Set
// of a counter, are ErrWrongKind.
func TestWrongKind(t *testing.T) {
	cf := newCounterFake()
	n := startFake(t, "", cf.serve("a"))
	c := dialFake(t, Options{Addrs: []string{n.addr()}})
	ctx := context.Background()
	if err := c.Set(ctx, "plain", []byte("v")); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Incr(ctx, "ctr", 1); err != nil {
		t.Fatal(err)
	}
	_, errIncr := c.Incr(ctx, "plain", 1)
	_, errCounter := c.Counter(ctx, "plain")
	_, errGet := c.Get(ctx, "ctr")
	errSet := c.Set(ctx, "ctr", []byte("v"))
	for name, err := range map[string]error{"incr of a plain key": errIncr, "counter of a plain key": errCounter,
		"get of a counter": errGet, "set of a counter": errSet} {
		var ne *net.Error
		if !errors.Is(err, ErrWrongKind) || !errors.As(err, &ne) || ne.Code != net.CodeWrongKind || errors.Is(err, ErrUnknownOutcome) {
			t.Errorf("%s: got %v; want ErrWrongKind carrying the node's CodeWrongKind", name, err)
		}
	}
}

// A counter read is a read: one whose connection breaks after it was sent
// is sent again (here to the next address), unlike an increment's first
// attempt... which is retried too, but only at its node.
func TestCounterReadRetried(t *testing.T) {
	var mu sync.Mutex
	drops := 0
	cf := newCounterFake()
	dropper := startFake(t, "", func(c *fakeConn) {
		mu.Lock()
		drops++
		mu.Unlock()
		c.read()
	})
	n := startFake(t, "", cf.serve("b"))
	c := dialFake(t, Options{Addrs: []string{dropper.addr(), n.addr()}})
	if v, err := c.Counter(context.Background(), "k"); err != nil || v != 0 {
		t.Fatalf("Counter: got %d, %v; want 0 from the second node", v, err)
	}
	if got := len(cf.requests()); got != 1 {
		t.Errorf("the second node received %d requests; want the read, once", got)
	}
}

// Against a real node, once it serves counters (until then the node
// refuses the first increment, and the test is skipped). End to end: run
// after the node side is merged.
func TestCountersOnNode(t *testing.T) {
	srv := startNode(t, "")
	c := dialNode(t, srv, "", 1)
	ctx := context.Background()
	v, err := c.Incr(ctx, "ctr", 5)
	var ne *net.Error
	if errors.As(err, &ne) && (ne.Code == net.CodeUnknownKind || ne.Code == net.CodeUnsupported) {
		t.Skipf("the node does not serve counters: %v", err)
	}
	if err != nil || v != 5 {
		t.Fatalf("Incr(ctr, 5): got %d, %v; want 5", v, err)
	}
	steps := []struct {
		delta, want int64
	}{{-7, -2}, {math.MaxInt64, math.MaxInt64 - 2}, {-math.MaxInt64, -2}}
	for _, s := range steps {
		if v, err := c.Incr(ctx, "ctr", s.delta); err != nil || v != s.want {
			t.Fatalf("Incr(ctr, %d): got %d, %v; want %d", s.delta, v, err, s.want)
		}
	}
	for _, l := range []net.Consistency{net.One, net.Quorum, net.All} {
		if v, err := c.Counter(ctx, "ctr", WithConsistency(l)); err != nil || v != -2 {
			t.Errorf("Counter at %s: got %d, %v; want -2", l, v, err)
		}
	}
	if v, err := c.Counter(ctx, "never"); err != nil || v != 0 {
		t.Errorf("Counter of a key never incremented: got %d, %v; want 0", v, err)
	}
	if err := c.Set(ctx, "plain", []byte("v")); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Incr(ctx, "plain", 1); !errors.Is(err, ErrWrongKind) {
		t.Errorf("Incr of a plain key: got %v; want ErrWrongKind", err)
	}
	if _, err := c.Get(ctx, "ctr"); !errors.Is(err, ErrWrongKind) {
		t.Errorf("Get of a counter: got %v; want ErrWrongKind", err)
	}
	if _, err := c.Incr(ctx, "ctr", math.MaxInt64); err == nil || errors.Is(err, ErrUnknownOutcome) {
		t.Errorf("Incr that overflows: got %v; want a definite refusal", err)
	}
	if v, err := c.Counter(ctx, "ctr"); err != nil || v != -2 {
		t.Errorf("Counter after a refused overflow: got %d, %v; want -2 (nothing applied)", v, err)
	}
}
