package coord

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/memdb/memdb/clock"
	"github.com/memdb/memdb/net"
	"pgregory.net/rapid"
)

// sized is an entry of n bytes against a bound (net.Entry.Size), numbered c.
func sized(c uint64, n int) net.Entry {
	return net.Entry{Key: []byte("k"), Value: []byte(strings.Repeat("x", n-17)), Stamp: clock.Timestamp{Counter: c, Node: 1}}
}

func TestHintsBounds(t *testing.T) {
	h := NewHints(100, time.Minute, 0)
	steps := []struct {
		what string
		ok   bool
		add  func() bool
	}{
		{"within the bound", true, func() bool { return h.Add(2, sized(1, 60), 0, 0, 1) }},
		{"over the byte bound", false, func() bool { return h.Add(2, sized(2, 41), time.Second, time.Second, 1) }},
		{"up to the byte bound", true, func() bool { return h.Add(2, sized(3, 40), time.Second, time.Second, 1) }},
		{"another replica has its own bound", true, func() bool { return h.Add(3, sized(4, 60), 2*time.Minute, 2*time.Minute, 1) }},
		{"too big alone", false, func() bool { return h.Add(4, sized(5, 101), 0, 0, 1) }},
		{"within the window", true, func() bool { return h.Add(3, net.Entry{}, 3*time.Minute, 3*time.Minute, 1) }},
		{"past the window", false, func() bool { return h.Add(3, net.Entry{}, 3*time.Minute+1, 3*time.Minute+1, 1) }},
	}
	for _, s := range steps {
		if got := s.add(); got != s.ok {
			t.Errorf("%s: Add = %v, want %v", s.what, got, s.ok)
		}
	}
	if got, want := h.Replicas(), ids(2, 3); !slices.Equal(got, want) {
		t.Errorf("Replicas() = %v, want %v (4's empty queue forgotten)", got, want)
	}
	if n, b := h.Held(2); n != 2 || b != 100 {
		t.Errorf("Held(2) = %d entries, %d bytes; want 2, 100", n, b)
	}
	if got := h.Pending(); got != 4 {
		t.Errorf("Pending() = %d, want 4", got)
	}
	// 3 has held its hints since 2m, so a minute later it takes no more;
	// once it takes some it does again for another window.
	if h.Add(3, net.Entry{}, 4*time.Minute, 4*time.Minute, 1) {
		t.Error("Add past the window since the queue started is kept")
	}
	if batch := h.Take(3); !h.Busy(3) || len(batch) != 2 {
		t.Fatalf("Take(3) = %d entries, busy %v; want both, busy", len(batch), h.Busy(3))
	}
	if restarted := h.Delivered(3, 1, 4*time.Minute, 2); !restarted { // as if the batch were the first entry
		t.Error("Delivered at a higher incarnation did not report a restart")
	}
	if !h.Add(3, net.Entry{}, 4*time.Minute+30*time.Second, 4*time.Minute+30*time.Second, 2) {
		t.Error("Add within the window since a delivery is refused")
	}
}

// A hint older than MaxAge is dropped before a batch is taken, oldest
// first, but not while a batch of them is in flight; with no MaxAge none
// expires.
func TestHintsExpire(t *testing.T) {
	h := NewHints(1<<20, time.Hour, time.Minute)
	h.Add(2, sized(1, 30), 0, 0, 1)
	h.Add(2, sized(2, 30), 30*time.Second, 30*time.Second, 1)
	h.Add(2, sized(3, 30), 50*time.Second, 50*time.Second, 1)
	if got := h.Expire(2, time.Minute); got != 0 {
		t.Fatalf("Expire at exactly MaxAge dropped %d, want 0", got)
	}
	if got := h.Expire(2, 95*time.Second); got != 2 {
		t.Fatalf("Expire(95s) dropped %d, want the 2 queued before 35s", got)
	}
	if n, b := h.Held(2); n != 1 || b != 30 {
		t.Fatalf("Held(2) = %d entries, %d bytes after Expire; want 1, 30", n, b)
	}
	if batch := h.Take(2); len(batch) != 1 || batch[0].Stamp.Counter != 3 {
		t.Fatalf("Take after Expire = %v, want the third hint", batch)
	}
	if got := h.Expire(2, time.Hour); got != 0 {
		t.Fatalf("Expire with a batch in flight dropped %d, want 0", got)
	}
	h.Delivered(2, 1, time.Hour, 1)
	// A hint's age counts from its write's start, not from when it was
	// queued (a coordinator paused between the two).
	h.Add(2, sized(4, 30), 2*time.Hour, 2*time.Hour-2*time.Minute, 1)
	h.Add(2, sized(5, 30), 2*time.Hour, 2*time.Hour, 1)
	if got := h.Expire(2, 2*time.Hour); got != 1 {
		t.Fatalf("Expire of a hint queued now for a write begun 2 minutes ago dropped %d, want 1", got)
	}
	if batch := h.Take(2); len(batch) != 1 || batch[0].Stamp.Counter != 5 {
		t.Fatalf("Take = %v, want the hint of the write begun now", batch)
	}
	h.Delivered(2, 1, 2*time.Hour, 1)
	keep := NewHints(1<<20, time.Hour, 0)
	keep.Add(2, sized(1, 30), 0, 0, 1)
	if got := keep.Expire(2, 24*time.Hour); got != 0 {
		t.Fatalf("Expire without MaxAge dropped %d, want 0", got)
	}
}

func TestHintsBatches(t *testing.T) {
	h := NewHints(4*Batch, time.Hour, 0)
	for c := range uint64(5) {
		h.Add(2, sized(c, Batch/2), 0, 0, 1)
	}
	var got []string
	for h.Pending() > 0 {
		b := h.Take(2)
		h.Lost(2) // a lost batch is taken again, the same
		if again := h.Take(2); !slices.EqualFunc(b, again, func(x, y net.Entry) bool { return x.Stamp == y.Stamp }) {
			t.Fatalf("after Lost, Take = %d entries, want the same %d", len(again), len(b))
		}
		var cs []string
		for _, e := range b {
			cs = append(cs, fmt.Sprint(e.Stamp.Counter))
		}
		got = append(got, strings.Join(cs, ","))
		h.Delivered(2, len(b), 0, 1)
	}
	if want := []string{"0,1", "2,3", "4"}; !slices.Equal(got, want) {
		t.Errorf("batches %v, want %v", got, want)
	}
	if got := h.Replicas(); len(got) != 0 {
		t.Errorf("Replicas() after every delivery = %v, want none", got)
	}
}

// Whatever is added, taken, delivered or lost, and when: no replica's
// hints exceed the byte bound, the bytes counted are the entries held,
// batches go oldest first and within Batch (or are one entry), and an
// entry is dropped only by its delivery.
func TestHintsProperties(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		bound := rapid.IntRange(16, 3*Batch).Draw(t, "bytes")
		h := NewHints(bound, time.Duration(rapid.IntRange(1, 100).Draw(t, "window")), 0)
		model := map[uint16][]net.Entry{}
		inflight := map[uint16]int{}
		var now time.Duration
		var c uint64
		for range rapid.IntRange(0, 60).Draw(t, "steps") {
			r := uint16(rapid.IntRange(1, 3).Draw(t, "replica"))
			now += time.Duration(rapid.IntRange(0, 30).Draw(t, "elapse"))
			switch op := rapid.IntRange(0, 3).Draw(t, "op"); {
			case op <= 1:
				c++
				e := sized(c, rapid.IntRange(17, Batch).Draw(t, "size"))
				if h.Add(r, e, now, now, 1) {
					model[r] = append(model[r], e)
				}
			case inflight[r] > 0:
				if op == 2 {
					h.Delivered(r, inflight[r], now, 1)
					model[r] = model[r][inflight[r]:]
				} else {
					h.Lost(r)
				}
				inflight[r] = 0
			case len(model[r]) > 0:
				b := h.Take(r)
				size := 0
				for _, e := range b {
					size += e.Size()
				}
				if len(b) == 0 || len(b) > 1 && size > Batch {
					t.Fatalf("Take(%d) = %d entries of %d bytes", r, len(b), size)
				}
				if !slices.EqualFunc(b, model[r][:len(b)], func(x, y net.Entry) bool { return x.Stamp == y.Stamp }) {
					t.Fatalf("Take(%d) is not the oldest %d entries", r, len(b))
				}
				inflight[r] = len(b)
			}
			total := 0
			for _, q := range []uint16{1, 2, 3} {
				n, b := h.Held(q)
				want := 0
				for _, e := range model[q] {
					want += e.Size()
				}
				if n != len(model[q]) || b != want || b > bound {
					t.Fatalf("replica %d holds %d entries, %d bytes; want %d, %d, within %d", q, n, b, len(model[q]), want, bound)
				}
				total += n
			}
			if h.Pending() != total {
				t.Fatalf("Pending() = %d, want %d", h.Pending(), total)
			}
		}
	})
}

// TestHintsReplay: a replay takes one batch for each replica that is up,
// has hints and none in flight, in id order, after dropping the expired;
// an answer delivers, drops or keeps its batch.
func TestHintsReplay(t *testing.T) {
	h := NewHints(1<<20, time.Hour, time.Minute)
	h.Add(3, sized(1, 40), 0, 0, 1)
	h.Add(3, sized(2, 40), 50*time.Second, 50*time.Second, 1)
	h.Add(2, sized(3, 40), 50*time.Second, 50*time.Second, 1)
	h.Add(4, sized(4, 40), 50*time.Second, 50*time.Second, 1)
	h.Add(5, sized(5, 40), 50*time.Second, 50*time.Second, 1)
	up := func(r uint16) bool { return r != 4 }

	batches, expired := h.Replay(70*time.Second, up)
	type got struct {
		To    uint16
		Sent  []uint64 // the stamps' counters
		Count int
	}
	show := func(bs []Replay) []got {
		var out []got
		for _, b := range bs {
			g := got{To: b.To, Count: b.Count}
			for _, e := range b.Entries {
				g.Sent = append(g.Sent, e.Stamp.Counter)
			}
			out = append(out, g)
		}
		return out
	}
	want := []got{{2, []uint64{3}, 1}, {3, []uint64{2}, 1}, {5, []uint64{5}, 1}}
	if diff := cmp.Diff(want, show(batches)); diff != "" || expired != 1 {
		t.Fatalf("Replay at 70s: expired %d, want 1; batches (-want +got):\n%s", expired, diff)
	}
	if again, _ := h.Replay(70*time.Second, up); len(again) != 0 {
		t.Fatalf("Replay with every batch in flight = %v, want none", show(again))
	}

	answers := []struct {
		b    Replay
		m    net.Message
		want Replayed
	}{
		{batches[0], &net.Done{}, Replayed{Delivered: 1}},
		{batches[1], &net.Error{Code: net.CodeWrongKind}, Replayed{Dropped: 1}},
		{batches[2], nil, Replayed{}},
	}
	for _, a := range answers {
		if got := h.Answered(a.b, a.m, 80*time.Second, 1); got != a.want {
			t.Errorf("Answered(to %d, %v) = %+v, want %+v", a.b.To, a.m, got, a.want)
		}
	}
	if got, want := h.Pending(), 2; got != want {
		t.Errorf("after the answers: %d pending, want %d (4's, and 5's kept for the next round)", got, want)
	}

	// 5's batch went again; delivered, it says 5 restarted since it was queued.
	batches, _ = h.Replay(80*time.Second, up)
	if len(batches) != 1 || batches[0].To != 5 {
		t.Fatalf("Replay after the answers = %v, want 5's batch", show(batches))
	}
	if got := h.Answered(batches[0], &net.Done{}, 90*time.Second, 2); got != (Replayed{Delivered: 1, Restarted: true}) {
		t.Errorf("Answered(5's batch again) = %+v, want delivered after a restart", got)
	}
}

// TestHintsDropLast: MutantHintDropLast sends a batch without its last
// entry and counts it all delivered.
func TestHintsDropLast(t *testing.T) {
	h := NewHints(1<<20, time.Hour, 0)
	h.DropLast = true
	h.Add(2, sized(1, 40), 0, 0, 1)
	h.Add(2, sized(2, 40), 0, 0, 1)
	bs, _ := h.Replay(time.Second, func(uint16) bool { return true })
	if len(bs) != 1 || len(bs[0].Entries) != 1 || bs[0].Count != 2 {
		t.Fatalf("Replay = %+v, want one batch of 2 sending 1", bs)
	}
	if got := h.Answered(bs[0], &net.Done{}, time.Second, 1); got.Delivered != 2 || h.Pending() != 0 {
		t.Errorf("Answered = %+v with %d pending, want 2 delivered and none", got, h.Pending())
	}
}

// BenchmarkHintsDrain times a replica's return to a full queue: 500,000
// hints of 100-byte values (about the 64 MiB bound), replayed batch by
// batch, each acknowledged, while replay rounds run for the other, down
// replica's full queue too. It reports the loop time per batch.
//
//	go test ./node/coord -run '^$' -bench HintsDrain
func BenchmarkHintsDrain(b *testing.B) {
	const n = 500_000
	value := make([]byte, 100)
	for b.Loop() {
		b.StopTimer()
		h := NewHints(1<<30, time.Hour, time.Hour)
		for i := range n {
			e := net.Entry{Key: fmt.Appendf(nil, "key:%012d", i), Value: value, Stamp: clock.Timestamp{Counter: uint64(i + 1), Node: 1}}
			h.Add(2, e, time.Duration(i), time.Duration(i), 1)
			h.Add(3, e, time.Duration(i), time.Duration(i), 1)
		}
		b.StartTimer()
		batches := 0
		for {
			rs, _ := h.Replay(n, func(r uint16) bool { return r == 2 })
			if len(rs) == 0 {
				break
			}
			for _, r := range rs {
				h.Answered(r, &net.Done{}, n, 1)
			}
			batches++
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(batches), "ns/batch")
	}
}
