package node

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/memdb/memdb/clock"
	"github.com/memdb/memdb/disk"
	"github.com/memdb/memdb/net"
)

// stepClock never fires a timer by itself: it keeps those due at once
// (the node's next step, later(0)) for the test to run, and drops the rest.
type stepClock struct{ due *[]func() }

func (c stepClock) Now() time.Time { return time.Time{} }
func (c stepClock) AfterFunc(d time.Duration, f func()) clock.Timer {
	if d == 0 {
		*c.due = append(*c.due, f)
	}
	return noTimer{}
}

// A compaction of more keys than one slice reads the store a slice per
// event, and writes go on in between: new keys, overwrites of keys the
// walk has passed and of keys it has not reached. After the swap and a
// crash, every acknowledged write is there.
func TestCompactionWalksInSlicesWhileWritesGoOn(t *testing.T) {
	var due []func()
	h := &harness{t: t, replies: map[uint64]net.Message{}, clk: stepClock{&due}}
	h.mem = disk.NewMem(rand.New(rand.NewPCG(1, 2)), func(f func()) { h.pending = append(h.pending, f) })
	h.boot()
	h.drain()
	const keys = 3*compactSlice + 17
	id := uint64(0)
	set := func(k, v string) {
		id++
		h.request(id, &net.Set{Key: []byte(k), Value: []byte(v), Level: net.One})
	}
	for i := range keys {
		set(fmt.Sprintf("k%06d", i), "v1")
	}
	h.drain()
	done := errors.New("compaction never finished")
	h.n.Compact(func(_ CompactResult, err error) { done = err })
	slices := 0
	for len(due) > 0 {
		// Between two slices: a key the walk passed, one it has not
		// reached, and a new one.
		set(fmt.Sprintf("k%06d", slices*compactSlice), fmt.Sprintf("v2-%d", slices))
		set(fmt.Sprintf("k%06d", keys-1-slices), fmt.Sprintf("v2-%d", slices))
		set(fmt.Sprintf("new%d", slices), "n")
		h.drain()
		f := due[0]
		due = due[1:]
		f()
		slices++
	}
	h.drain()
	if done != nil {
		t.Fatalf("compaction: %v", done)
	}
	if slices < 3 {
		t.Fatalf("the walk of %d keys took %d slices after the first, want at least 3", keys, slices)
	}
	want := map[string]string{}
	for i := range keys {
		want[fmt.Sprintf("k%06d", i)] = "v1"
	}
	for s := range slices {
		want[fmt.Sprintf("k%06d", s*compactSlice)] = fmt.Sprintf("v2-%d", s)
		want[fmt.Sprintf("k%06d", keys-1-s)] = fmt.Sprintf("v2-%d", s)
		want[fmt.Sprintf("new%d", s)] = "n"
	}
	for _, d := range h.replies {
		if _, ok := d.(*net.Done); !ok {
			t.Fatalf("a write answered %#v", d)
		}
	}
	h.crash()
	if got := h.n.Store().Len(); got != len(want) {
		t.Errorf("after the crash the store holds %d keys, want %d", got, len(want))
	}
	for k, v := range want {
		got, ok := h.n.Store().Get([]byte(k))
		if !ok || string(got.Value) != v {
			t.Errorf("after the crash %s = %q (found %v), want %q", k, got.Value, ok, v)
		}
	}
}
