package grave

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/memdb/memdb/clock"
	"github.com/memdb/memdb/node/gossip"
	"github.com/memdb/memdb/node/oplog"
	"github.com/memdb/memdb/node/store"
	"github.com/memdb/memdb/node/view"
)

// fakeNode is a node on a settled ring whose turns the test runs by hand.
type fakeNode struct {
	v             view.View
	ready, member bool
	stopped       bool
	now, steady   time.Duration
	expired       clock.Timestamp
	later         []func()
	dropped       []string
	forgot        []oplog.Record
	forgetDone    []func()
	st            *store.Store
}

func (f *fakeNode) View() view.View                 { return f.v }
func (f *fakeNode) Ready() bool                     { return f.ready }
func (f *fakeNode) Settled(epoch uint64) bool       { return !f.stopped && f.v.Epoch == epoch }
func (f *fakeNode) Member() bool                    { return f.member }
func (f *fakeNode) Now() time.Duration              { return f.now }
func (f *fakeNode) Steady() time.Duration           { return f.steady }
func (f *fakeNode) Expired() clock.Timestamp        { return f.expired }
func (f *fakeNode) Later(d time.Duration, g func()) { f.later = append(f.later, g) }
func (f *fakeNode) Dropped(g Grave)                 { f.dropped = append(f.dropped, g.Key) }

// WithKeys hands the keys over in a later turn, as a merge made off the
// loop does.
func (f *fakeNode) WithKeys(g func(store.Keys)) {
	f.later = append(f.later, func() { g(f.st.Keys()) })
}
func (f *fakeNode) Forget(recs []oplog.Record, done func()) {
	f.forgot = append(f.forgot, recs...)
	f.forgetDone = append(f.forgetDone, done)
}

// runLater runs the turns the driver asked for, and those they ask for.
func (f *fakeNode) runLater() {
	for len(f.later) > 0 {
		g := f.later[0]
		f.later = f.later[1:]
		g()
	}
}

// settle makes each slice forgotten durable and runs the turns asked
// for, until none is left.
func (f *fakeNode) settle() {
	for len(f.forgetDone) > 0 || len(f.later) > 0 {
		if len(f.forgetDone) > 0 {
			done := f.forgetDone[0]
			f.forgetDone = f.forgetDone[1:]
			done()
		}
		f.runLater()
	}
}

func member(id uint16, tokens ...uint64) gossip.Member {
	return gossip.Member{ID: id, Addr: fmt.Sprintf("n%d", id), Ring: view.NextVersion(0, view.Normal), Tokens: tokens}
}

// A ring of three, each a quarter apart, on which node 1 replicates
// every key (rf 3).
func newDriver(rf int) (*Driver, *fakeNode) {
	const q = 1 << 62
	f := &fakeNode{
		v:     view.New(4, rf, []gossip.Member{member(1, q), member(2, 2*q), member(3, 3*q)}),
		ready: true, member: true,
		now: time.Minute, steady: time.Minute, expired: ts(1000),
	}
	f.st = store.New()
	d := &Driver{Node: f, Store: f.st, Self: 1, Grace: 10 * time.Second, Every: time.Second,
		Cleans: Cleans{Fanout: 16, Depth: 2}}
	return d, f
}

// seenAll notes every peer clean on every arc, at the start.
func seenAll(d *Driver, f *fakeNode) {
	for _, a := range f.v.Arcs() {
		for _, p := range a.Read {
			d.Cleans.Note(f.v.Epoch, p, a.Span, Clean{At: 0, Horizon: ts(1000)})
		}
	}
}

func tombstone(d *Driver, key string, c uint64, at time.Duration) {
	v := store.RegisterAt(nil, true, ts(c))
	d.Store.Update([]byte(key), v)
	d.Buried([]byte(key), v.Stamp, at)
}

// A sweep drops the tombstones the rule allows, a turn of Slice graves at
// a time, and keeps the rest for the next; it stops at the first young
// one; it is due every Every.
func TestDriverSweep(t *testing.T) {
	d, f := newDriver(3)
	seenAll(d, f)
	for i := range Slice + 2 {
		tombstone(d, fmt.Sprintf("old%d", i), uint64(i%900+1), 0)
	}
	tombstone(d, "late", 2000, 0)                  // not expired: kept
	tombstone(d, "young", 5, f.steady-time.Second) // not here for the grace
	tombstone(d, "after", 5, 0)                    // behind the young one
	d.Sweep()
	if len(f.dropped) != Slice || len(f.later) != 1 {
		t.Fatalf("first turn: dropped %d, %d turns asked for; want %d, 1", len(f.dropped), len(f.later), Slice)
	}
	f.runLater()
	if got, want := len(f.dropped), Slice+2; got != want {
		t.Fatalf("after the sweep: dropped %d, want %d", got, want)
	}
	if got := d.Graves(); got != 3 {
		t.Errorf("after the sweep: %d graves, want 3 (late, young, after)", got)
	}
	if _, ok := d.Store.Get([]byte("old0")); ok {
		t.Error("a dropped tombstone is still in the store")
	}
	if _, ok := d.Store.Get([]byte("late")); !ok {
		t.Error("a tombstone not expired was dropped")
	}

	// Not due again within Every; then the young one is old enough and
	// seen clean by a comparison begun after it came, and the late one
	// still not expired.
	f.steady += 10 * time.Second
	for _, a := range f.v.Arcs() {
		for _, p := range a.Read {
			d.Cleans.Note(f.v.Epoch, p, a.Span, Clean{At: f.steady - time.Second, Horizon: ts(1000)})
		}
	}
	d.Sweep()
	if len(f.dropped) != Slice+2 {
		t.Fatal("a sweep ran before it was due")
	}
	f.now += time.Second
	d.Sweep()
	if got := f.dropped[Slice+2:]; !slices.Equal(got, []string{"young", "after"}) {
		t.Errorf("second sweep dropped %v, want [young after]", got)
	}
}

// A sweep whose ring moves between turns keeps what is left; one on a
// node not ready does not begin; a node that drops nothing sweeps nothing.
func TestDriverSweepStops(t *testing.T) {
	d, f := newDriver(3)
	seenAll(d, f)
	for i := range Slice + 5 {
		tombstone(d, fmt.Sprintf("k%d", i), 1, 0)
	}
	d.Sweep()
	f.v.Epoch++
	f.runLater()
	if got, want := d.Graves(), 5; got != want || len(f.dropped) != Slice {
		t.Fatalf("ring moved after a turn: %d graves left, %d dropped; want %d, %d", got, len(f.dropped), want, Slice)
	}

	d, f = newDriver(3)
	seenAll(d, f)
	tombstone(d, "k", 1, 0)
	f.ready = false
	d.Sweep()
	d.Grace = 0
	f.ready, f.now = true, f.now+time.Hour
	d.Sweep()
	if len(f.dropped) != 0 || d.Graves() != 1 {
		t.Errorf("dropped %v: want nothing from a node not ready, nor from one that does not purge", f.dropped)
	}
}

// Forgetting drops the registers of keys the node does not replicate,
// each slice made durable before the next, and keeps counters, states
// with intents and the keys it replicates; it runs again after half a
// grace, or on a new ring.
func TestDriverForgetUnowned(t *testing.T) {
	d, f := newDriver(1)
	var owned, unowned []string
	for i := 0; len(owned) < 3 || len(unowned) < Slice+1; i++ {
		k := fmt.Sprintf("k%d", i)
		if slices.Contains(f.v.Groups([]byte(k)).All(), 1) {
			owned = append(owned, k)
		} else {
			unowned = append(unowned, k)
		}
		d.Store.Update([]byte(k), store.RegisterAt([]byte("v"), false, ts(1)))
	}
	counter := unowned[0]
	d.Store.Update([]byte(counter), store.CounterAt([]store.Slot{{Node: 2, Gen: 1, Version: 1, P: 1}}))
	d.ForgetUnowned()
	d.ForgetUnowned() // one at a time
	f.runLater()      // the keys handed over (WithKeys)
	if len(f.forgetDone) != 1 {
		t.Fatalf("%d slices waiting to be durable, want 1", len(f.forgetDone))
	}
	f.settle()
	if got, want := len(f.forgot), len(unowned)-1; got != want {
		t.Errorf("forgot %d keys, want %d (every unowned register)", got, want)
	}
	for _, k := range owned {
		if _, ok := d.Store.Get([]byte(k)); !ok {
			t.Errorf("owned key %s forgotten", k)
		}
	}
	if _, ok := d.Store.Get([]byte(counter)); !ok {
		t.Error("a counter was forgotten")
	}
	for _, r := range f.forgot {
		if r.Type != oplog.TypeForget {
			t.Fatalf("record %v is no TypeForget", r)
		}
	}

	n := len(f.forgot)
	d.Store.Update([]byte(unowned[1]), store.RegisterAt([]byte("v"), false, ts(2)))
	d.ForgetUnowned()
	if len(f.forgot) != n {
		t.Error("forgot again on the same ring within half a grace")
	}
	f.now += d.Grace / 2
	d.ForgetUnowned()
	f.settle()
	if len(f.forgot) != n+1 {
		t.Errorf("after half a grace: forgot %d more, want 1", len(f.forgot)-n)
	}
}
