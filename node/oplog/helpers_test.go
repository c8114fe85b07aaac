package oplog

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/memdb/memdb/clock"
	"github.com/memdb/memdb/disk"
)

// tb is what helpers need of a *testing.T or *rapid.T.
type tb interface {
	Helper()
	Fatal(args ...any)
	Fatalf(format string, args ...any)
}

// world is a Mem disk whose callbacks wait in a queue the test drains.
type world struct {
	mem *disk.Mem
	q   []func()
}

func newWorld(seed uint64) *world {
	w := &world{}
	w.mem = disk.NewMem(rand.New(rand.NewPCG(seed, 0)), func(f func()) { w.q = append(w.q, f) })
	return w
}

// step runs the oldest pending callback; false if there is none.
func (w *world) step() bool {
	if len(w.q) == 0 {
		return false
	}
	f := w.q[0]
	w.q = w.q[1:]
	f()
	return true
}

func (w *world) drain() {
	for w.step() {
	}
}

// crash cuts power: pending callbacks are void.
func (w *world) crash() {
	w.mem.Crash()
	w.q = nil
}

// open opens the log and returns the records replayed.
func (w *world) open(t tb, cfg Config) (*Log, []Record, Report) {
	t.Helper()
	var got []Record
	l, rep, err := Open(w.mem, cfg, func(r Record) error {
		got = append(got, r.clone())
		return nil
	})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return l, got, rep
}

// commit appends recs, commits and drains, failing on any error.
func commitAll(t tb, w *world, l *Log, recs ...Record) {
	t.Helper()
	if err := l.Append(recs...); err != nil {
		t.Fatal(err)
	}
	var err error
	done := false
	l.Sync(func(e error) { err, done = e, true })
	w.drain()
	if !done || err != nil {
		t.Fatalf("sync: done %v, err %v", done, err)
	}
}

// rec makes a distinctive set record number i.
func rec(i int) Record {
	return Record{
		Type:   TypeSet,
		Key:    fmt.Appendf(nil, "key-%d", i%7),
		Value:  fmt.Appendf(nil, "value-%d", i),
		Stamp:  clock.Timestamp{Counter: uint64(100 + i), Node: uint16(1 + i%3)},
		Origin: uint16(1 + i%3),
		Seq:    uint64(i + 1),
	}
}

func recs(from, to int) []Record {
	var rs []Record
	for i := from; i < to; i++ {
		rs = append(rs, rec(i))
	}
	return rs
}

// normalize makes records comparable: nil and empty slices alike.
func normalize(rs []Record) []Record {
	out := slices.Clone(rs)
	for i := range out {
		if len(out[i].Key) == 0 {
			out[i].Key = nil
		}
		if len(out[i].Value) == 0 {
			out[i].Value = nil
		}
	}
	return out
}

// fakeClock is a manual clock for EverySec.
type fakeClock struct {
	now    time.Time
	timers []*fakeTimer
}

type fakeTimer struct {
	at      time.Time
	f       func()
	stopped bool
}

func (t *fakeTimer) Stop() bool {
	was := !t.stopped
	t.stopped = true
	return was
}

func (c *fakeClock) Now() time.Time { return c.now }

func (c *fakeClock) AfterFunc(d time.Duration, f func()) clock.Timer {
	t := &fakeTimer{at: c.now.Add(d), f: f}
	c.timers = append(c.timers, t)
	return t
}

// advance moves time on by d and fires the timers due.
func (c *fakeClock) advance(d time.Duration) {
	c.now = c.now.Add(d)
	for _, t := range c.timers {
		if !t.stopped && !t.at.After(c.now) {
			t.stopped = true
			t.f()
		}
	}
}

// clone returns r with slices of its own: Open's are valid only until
// its apply returns.
func (r Record) clone() Record {
	r.Key, r.Value = bytes.Clone(r.Key), bytes.Clone(r.Value)
	return r
}
