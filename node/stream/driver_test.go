package stream

import (
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/memdb/memdb/net"
	"github.com/memdb/memdb/node/store"
)

// peers are Drivers over a fake network and loop: calls, answers and timers
// are events run in time order, one at a time, as on a node's loop.
type peers struct {
	t      *testing.T
	now    time.Duration
	events []event
	seq    int
	nodes  map[uint16]*fake
	// drop, if set, loses the messages it reports true for.
	drop func(from, to uint16, m net.Message) bool
}

type event struct {
	at  time.Duration
	seq int
	f   func()
}

func newPeers(t *testing.T, ids ...uint16) *peers {
	p := &peers{t: t, nodes: map[uint16]*fake{}}
	for _, id := range ids {
		f := &fake{p: p, id: id, epoch: 1, calls: map[uint64]func(net.Message){}, probes: map[string]int{}}
		f.d = &Driver{Node: f, Store: store.New(), ID: id, RequestTimeout: time.Second, Refused: 100 * time.Millisecond,
			Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
		p.nodes[id] = f
	}
	return p
}

func (p *peers) at(d time.Duration, f func()) {
	p.seq++
	p.events = append(p.events, event{p.now + d, p.seq, f})
}

// run runs events until none is left.
func (p *peers) run() {
	for steps := 0; len(p.events) > 0; steps++ {
		if steps > 1e6 {
			p.t.Fatal("the loop never went quiet")
		}
		sort.Slice(p.events, func(i, j int) bool {
			a, b := p.events[i], p.events[j]
			return a.at < b.at || a.at == b.at && a.seq < b.seq
		})
		e := p.events[0]
		p.events = p.events[1:]
		p.now = e.at
		e.f()
	}
}

// deliver hands m, request id from from, to node to after a millisecond.
func (p *peers) deliver(from, to uint16, id uint64, m net.Message) {
	if p.drop != nil && p.drop(from, to, m) {
		return
	}
	p.at(time.Millisecond, func() { p.nodes[to].receive(from, id, m) })
}

// fake is a node as its Driver sees it.
type fake struct {
	p      *peers
	id     uint16
	d      *Driver
	epoch  uint64
	nextID uint64
	calls  map[uint64]func(net.Message)
	probes map[string]int
	synced []uint16 // peers SyncWith was called for
	in     []int    // the entries of each batch streamed in
	out    int      // entries streamed out
	cmp    Comparison
}

var _ Node = (*fake)(nil)

func (f *fake) Epoch() uint64 { return f.epoch }

func (f *fake) Ask(peer uint16, m net.Message, timeout time.Duration, done func(net.Message)) {
	f.nextID++
	id := f.nextID
	f.calls[id] = done
	f.p.at(timeout, func() { f.answer(id, nil) })
	f.p.deliver(f.id, peer, id, m)
}

func (f *fake) answer(id uint64, m net.Message) {
	if done := f.calls[id]; done != nil {
		delete(f.calls, id)
		done(m)
	}
}

func (f *fake) AskAgain(peer uint16, m net.Message, accepted func(net.Message) bool, done func(net.Message)) {
	var try func(k int)
	try = func(k int) {
		f.Ask(peer, m, f.Wait(k), func(a net.Message) {
			if a != nil && accepted(a) || k+1 >= 6 {
				done(a)
				return
			}
			try(k + 1)
		})
	}
	try(0)
}

func (f *fake) Wait(try int) time.Duration { return f.d.RequestTimeout / 4 << min(try, 2) }

func (f *fake) Send(peer uint16, id uint64, m net.Message) {
	if f.p.drop != nil && f.p.drop(f.id, peer, m) {
		return
	}
	f.p.at(time.Millisecond, func() { f.p.nodes[peer].answer(id, m) })
}

func (f *fake) Later(d time.Duration, fn func())  { f.p.at(d, fn) }
func (f *fake) WithKeys(fn func(keys store.Keys)) { fn(f.d.Store.Keys()) }
func (f *fake) SyncWith(peer uint16)              { f.synced = append(f.synced, peer) }
func (f *fake) Probe(name string)                 { f.probes[name]++ }
func (f *fake) Compared(c Comparison) {
	f.cmp.Rounds, f.cmp.Arcs, f.cmp.Spans = f.cmp.Rounds+c.Rounds, f.cmp.Arcs+c.Arcs, f.cmp.Spans+c.Spans
}
func (f *fake) Apply(es []net.Entry, done func(error)) { f.apply(es); done(nil) }

func (f *fake) Streamed(in bool, es []net.Entry) {
	if in {
		f.in = append(f.in, len(es))
	} else {
		f.out += len(es)
	}
}

func (f *fake) apply(es []net.Entry) {
	for _, e := range es {
		f.d.Store.Apply(e.Key, store.FromEntry(e))
	}
}

// receive serves a peer's request as a node's dispatch would.
func (f *fake) receive(from uint16, id uint64, m net.Message) {
	switch m := m.(type) {
	case *net.Sync:
		f.d.ServeSync(from, id, m)
	case *net.Digest:
		f.d.ServeDigest(from, id, m.Spans, Bounds{})
	case *net.DigestBefore:
		f.d.ServeDigest(from, id, m.Spans, Bounds{Horizon: m.Horizon, Expired: m.Expired, Records: m.Records})
	case *net.Replicate:
		f.apply(m.Entries)
		f.Send(from, id, &net.Done{})
	default:
		f.p.t.Fatalf("node %d got an unexpected %v", f.id, m.Kind())
	}
}

// put writes n keys k0..k(n-1) to st, each value size bytes, stamped i+1.
func put(st *store.Store, n, size int) {
	for i := range n {
		st.Apply(fmt.Appendf(nil, "k%d", i), store.Version{Value: bytes.Repeat([]byte{'v'}, size), Stamp: ts(uint64(i+1), 1)})
	}
}

// same fails unless a and b hold the same keys and versions.
func same(t *testing.T, a, b *store.Store) {
	t.Helper()
	if !slices.Equal(slices.Collect(a.Keys().All()), slices.Collect(b.Keys().All())) {
		t.Fatalf("stores hold %d and %d keys", a.Len(), b.Len())
	}
	for k := range a.Keys().All() {
		va, _ := a.Get([]byte(k))
		vb, _ := b.Get([]byte(k))
		if store.Hash([]byte(k), va) != store.Hash([]byte(k), vb) {
			t.Fatalf("key %s: %v here, %v there", k, va, vb)
		}
	}
}

// A pull streams everything in the spans, batch by batch, each about
// syncLimit bytes; the puller counts what came in.
func TestPull(t *testing.T) {
	p := newPeers(t, 1, 2)
	a, b := p.nodes[1], p.nodes[2]
	put(b.d.Store, 1000, 1000) // about 1 MB: four batches or so
	p.runDone(t, "pull", func(done func(bool)) { a.d.Pull(2, whole, nil, done) })
	same(t, a.d.Store, b.d.Store)
	if len(a.in) < 4 || b.out != 1000 {
		t.Errorf("streamed in batches %v, out %d entries: want at least 4 batches of 1000 entries in all", a.in, b.out)
	}
	if a.probes[ProbeCatchUpGap] != 0 {
		t.Errorf("a pull without marks counted %d catch-up gaps", a.probes[ProbeCatchUpGap])
	}
}

// A pull with marks takes only what the marks have not seen, and counts
// the gap a catch-up found.
func TestPullMarks(t *testing.T) {
	p := newPeers(t, 1, 2)
	a, b := p.nodes[1], p.nodes[2]
	put(b.d.Store, 100, 10)
	a.d.Pull(2, whole, []net.Mark{{Origin: 1, Counter: 90}}, func(bool) {})
	p.run()
	if a.d.Store.Len() != 10 || a.probes[ProbeCatchUpGap] != 1 {
		t.Errorf("pulled %d keys past mark 90 of 100 (%d gaps counted), want 10 (1)", a.d.Store.Len(), a.probes[ProbeCatchUpGap])
	}
}

// A peer behind the ring the asker is at refuses the Sync and starts an
// exchange of membership; a pull that is refused every time gives up
// after syncTries retries.
func TestPullRefusedGivesUp(t *testing.T) {
	p := newPeers(t, 1, 2)
	a, b := p.nodes[1], p.nodes[2]
	a.epoch = 2
	put(b.d.Store, 10, 10)
	var got []bool
	a.d.Pull(2, whole, nil, func(ok bool) { got = append(got, ok) })
	p.run()
	if !slices.Equal(got, []bool{false}) || a.d.Store.Len() != 0 {
		t.Fatalf("pull done %v with %d keys, want [false] with none", got, a.d.Store.Len())
	}
	if len(b.synced) != syncTries+1 || b.probes[ProbeSyncBehindEpoch] != syncTries+1 || a.probes[ProbeSyncGaveUp] != 1 {
		t.Errorf("peer synced membership %d times, counted %d refusals; asker gave up %d times: want %d, %d, 1",
			len(b.synced), b.probes[ProbeSyncBehindEpoch], a.probes[ProbeSyncGaveUp], syncTries+1, syncTries+1)
	}
}

// A pull whose answers are lost now and then asks again, from where it
// was, and still gets everything.
func TestPullLossy(t *testing.T) {
	p := newPeers(t, 1, 2)
	a, b := p.nodes[1], p.nodes[2]
	put(b.d.Store, 1000, 1000)
	n := 0
	p.drop = func(from, to uint16, m net.Message) bool {
		if _, batch := m.(*net.SyncBatch); !batch {
			return false
		}
		n++
		return n%2 == 0
	}
	p.runDone(t, "pull", func(done func(bool)) { a.d.Pull(2, whole, nil, done) })
	same(t, a.d.Store, b.d.Store)
	if n < 7 {
		t.Errorf("%d batches sent, want at least 4 kept and 3 lost between them", n)
	}
}

// A push hands the peer every entry of the spans, each batch answered
// before the next.
func TestPush(t *testing.T) {
	p := newPeers(t, 1, 2)
	a, b := p.nodes[1], p.nodes[2]
	put(a.d.Store, 1000, 1000)
	p.runDone(t, "push", func(done func(bool)) { a.d.Push(2, whole, done) })
	same(t, a.d.Store, b.d.Store)
	if a.out != 1000 {
		t.Errorf("streamed out %d entries, want 1000", a.out)
	}
}

// A comparison of stores that differ in one key of many narrows the
// difference down to a small span before it pulls: it moves a few keys,
// not the arc, tells equal every span found equal, and counts one arc.
func TestCompareNarrows(t *testing.T) {
	p := newPeers(t, 1, 2)
	a, b := p.nodes[1], p.nodes[2]
	const keys = 8000
	put(a.d.Store, keys, 10)
	put(b.d.Store, keys, 10)
	b.d.Store.Apply([]byte("k4321"), store.Version{Value: []byte("newer"), Stamp: ts(keys+1, 2)})
	var equal []net.Span
	p.runDone(t, "compare", func(done func(bool)) {
		a.d.Compare(2, whole, Bounds{}, func(s net.Span) { equal = append(equal, s) }, done)
	})
	same(t, a.d.Store, b.d.Store)
	in := 0
	for _, n := range a.in {
		in += n
	}
	if in > keys/RefineFanout/RefineFanout*2 || in == 0 {
		t.Errorf("pulled %d entries to repair one key of %d: want a few tens", in, keys)
	}
	if a.cmp != (Comparison{Rounds: 1, Arcs: 1, Spans: 1}) || a.probes[ProbeRepairArcsDiffer] != 1 {
		t.Errorf("counted %+v and %d differing rounds, want one of each", a.cmp, a.probes[ProbeRepairArcsDiffer])
	}
	// Each level below the arc splits the differing span into RefineFanout;
	// all but the one holding the key are equal.
	if want := 2 * (RefineFanout - 1); len(equal) != want {
		t.Errorf("told %d spans equal, want %d", len(equal), want)
	}
	// Compared again, the stores are equal at the arc.
	equal = nil
	var got []bool
	a.d.Compare(2, whole, Bounds{}, func(s net.Span) { equal = append(equal, s) }, func(ok bool) { got = append(got, ok) })
	p.run()
	if !slices.Equal(got, []bool{true}) || !slices.Equal(equal, whole) {
		t.Errorf("second compare done %v, equal %v: want [true], %v", got, equal, whole)
	}
}

// A node summing as many digests as it may refuses to start another; the
// asker's comparison fails.
func TestServeDigestBusy(t *testing.T) {
	p := newPeers(t, 1, 2)
	a, b := p.nodes[1], p.nodes[2]
	b.d.digesting = maxDigesting
	var got []bool
	a.d.Compare(2, whole, Bounds{}, func(net.Span) {}, func(ok bool) { got = append(got, ok) })
	p.run()
	if !slices.Equal(got, []bool{false}) || a.d.Digesting() != 0 {
		t.Errorf("compare with a busy peer done %v, %d digests left summing: want [false], 0", got, a.d.Digesting())
	}
}

// A planted bug: with DropIntents a stream leaves batch intents out, and
// a key that holds nothing but an intent is not sent at all.
func TestDropIntents(t *testing.T) {
	for _, drop := range []bool{false, true} {
		p := newPeers(t, 1, 2)
		a, b := p.nodes[1], p.nodes[2]
		put(b.d.Store, 5, 10)
		b.d.Store.Apply([]byte("batched"), store.IntentAt(store.Intent{Token: []byte("t"), Stamp: ts(100, 2), Value: []byte("x")}))
		b.d.DropIntents = drop
		a.d.Pull(2, whole, nil, func(bool) {})
		p.run()
		_, got := a.d.Store.Get([]byte("batched"))
		if got == drop || a.d.Store.Len() != b.d.Store.Len()-btoi(drop) {
			t.Errorf("DropIntents %v: pulled %d of %d keys, the intent's key among them: %v", drop, a.d.Store.Len(), b.d.Store.Len(), got)
		}
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// runDone starts what (a pull, a push, a comparison) with its done
// callback, runs the peers until nothing is left to deliver, and fails
// the test unless done was called exactly once, with true.
func (p *peers) runDone(t *testing.T, what string, start func(done func(bool))) {
	t.Helper()
	var got []bool
	start(func(ok bool) { got = append(got, ok) })
	p.run()
	if !slices.Equal(got, []bool{true}) {
		t.Fatalf("%s done %v, want [true]", what, got)
	}
}
