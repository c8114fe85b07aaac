package stream

import (
	"fmt"
	"slices"
	"testing"

	"github.com/memdb/memdb/clock"
	"github.com/memdb/memdb/net"
	"github.com/memdb/memdb/node/ring"
	"github.com/memdb/memdb/node/store"
	"pgregory.net/rapid"
)

func ts(c uint64, n uint16) clock.Timestamp { return clock.Timestamp{Counter: c, Node: n} }

// fill writes keys k0..k(n-1), key i stamped (i+1, 1+i%3), k7 deleted.
func fill(n int) *store.Store {
	st := store.New()
	for i := range n {
		v := store.Version{Value: []byte("v"), Stamp: ts(uint64(i+1), uint16(1+i%3))}
		if i == 7 {
			v = store.Version{Deleted: true, Stamp: v.Stamp}
		}
		st.Apply(fmt.Appendf(nil, "k%d", i), v)
	}
	return st
}

var whole = []net.Span{{Start: 5, End: 5}}

// Digests sum each key's hash into the arc that holds it: the whole ring's
// digest is the sum over every key, arcs that cut the ring (one of them
// across zero) add up to it, and a changed value changes the digest of its
// arc only.
func TestDigests(t *testing.T) {
	st := fill(200)
	all := Digests(st, whole)[0]
	var want uint64
	for k := range st.Keys().All() {
		v, _ := st.Get([]byte(k))
		want += store.Hash([]byte(k), v)
	}
	if all != want || all == 0 {
		t.Fatalf("digest of the whole ring %x, want the sum over every key %x", all, want)
	}
	cuts := []net.Span{{Start: 1 << 62, End: 1 << 63}, {Start: 3 << 62, End: 1 << 62}, {Start: 1 << 63, End: 3 << 62}}
	parts := Digests(st, cuts)
	if parts[0]+parts[1]+parts[2] != all {
		t.Fatalf("arcs %v sum to %x, the whole ring to %x", parts, parts[0]+parts[1]+parts[2], all)
	}
	key := []byte("k3")
	st.Apply(key, store.Version{Value: []byte("changed"), Stamp: ts(1000, 1)})
	after := Digests(st, cuts)
	for i, s := range cuts {
		in := (ring.Range{Start: s.Start, End: s.End}).Contains(ring.Hash(key))
		if changed := after[i] != parts[i]; changed != in {
			t.Errorf("arc %v holds k3: %v; its digest changed: %v", s, in, changed)
		}
	}
}

func TestScanMarks(t *testing.T) {
	st := fill(30)
	// Origin 1 up to 10, origin 2 up to 30, origin 3 unknown: of origin 1
	// only keys stamped after 10, of origin 3 all, of origin 2 none.
	es, more, _ := Scan(st, whole, []net.Mark{{Origin: 1, Counter: 10}, {Origin: 2, Counter: 30}}, nil, 1<<20)
	if more {
		t.Fatal("more with a limit above the data")
	}
	for _, e := range es {
		if e.Stamp.Node == 2 || e.Stamp.Node == 1 && e.Stamp.Counter <= 10 {
			t.Errorf("entry %s@%v is covered by the marks", e.Key, e.Stamp)
		}
	}
	if want := 10 + 6; len(es) != want { // origin 3: 10 keys; origin 1 past 10: 6
		t.Errorf("%d entries, want %d", len(es), want)
	}
}

// Paging through Scan with any limit gives every entry in the spans past
// the marks, once, in key order; each page is within its limit unless it
// holds a single entry.
func TestScanPages(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		st := fill(rapid.IntRange(0, 60).Draw(t, "keys"))
		spans := whole
		if rapid.Bool().Draw(t, "cut") {
			a := rapid.Uint64().Draw(t, "start")
			spans = []net.Span{{Start: a, End: a + rapid.Uint64Range(1, 1<<63).Draw(t, "length")}}
		}
		var marks []net.Mark
		if rapid.Bool().Draw(t, "marked") {
			marks = []net.Mark{{Origin: 2, Counter: rapid.Uint64Range(0, 60).Draw(t, "mark")}}
		}
		limit := rapid.IntRange(1, 200).Draw(t, "limit")
		var want []string
		for k := range st.Keys().All() {
			v, _ := st.Get([]byte(k))
			if Contains(spans, ring.Hash([]byte(k))) && !(v.Stamp.Node == 2 && len(marks) > 0 && v.Stamp.Counter <= marks[0].Counter) {
				want = append(want, k)
			}
		}
		var got []string
		var after []byte
		for range 100 {
			es, more, next := Scan(st, spans, marks, after, limit)
			size := 0
			for _, e := range es {
				got = append(got, string(e.Key))
				size += len(e.Key) + len(e.Value) + 16
			}
			if len(es) > 1 && size > limit+len(es[len(es)-1].Key)+len(es[len(es)-1].Value)+16 {
				t.Fatalf("a page of %d entries and %d bytes for limit %d", len(es), size, limit)
			}
			if !more {
				break
			}
			after = next
		}
		if !slices.Equal(got, want) {
			t.Fatalf("paged scan %q, want %q", got, want)
		}
	})
}

func TestAppendAndMarks(t *testing.T) {
	ss := Append(Append(Append(nil, net.Span{Start: 1, End: 5}), net.Span{Start: 5, End: 9}), net.Span{Start: 10, End: 12})
	if want := []net.Span{{Start: 1, End: 9}, {Start: 10, End: 12}}; !slices.Equal(ss, want) {
		t.Errorf("Append: %v, want %v", ss, want)
	}
	if got, want := Marks(map[uint16]uint64{3: 9, 1: 4}), []net.Mark{{Origin: 1, Counter: 4}, {Origin: 3, Counter: 9}}; !slices.Equal(got, want) {
		t.Errorf("Marks: %v, want %v", got, want)
	}
}

// Split's sub-spans cover the span exactly once, in order, each about a
// k-th of it.
func TestSplitCovers(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		s := net.Span{Start: rapid.Uint64().Draw(t, "start"), End: rapid.Uint64().Draw(t, "end")}
		if rapid.Bool().Draw(t, "whole") {
			s.End = s.Start
		}
		if rapid.Bool().Draw(t, "short") {
			s.End = s.Start + rapid.Uint64Range(1, 20).Draw(t, "len")
		}
		k := rapid.IntRange(1, 64).Draw(t, "k")
		subs := Split(s, k)
		if len(subs) == 0 || len(subs) > k || subs[0].Start != s.Start || subs[len(subs)-1].End != s.End {
			t.Fatalf("Split(%v, %d) = %v", s, k, subs)
		}
		for i := 1; i < len(subs); i++ {
			if subs[i].Start != subs[i-1].End || subs[i].Start == subs[i].End {
				t.Fatalf("Split(%v, %d) = %v: not contiguous", s, k, subs)
			}
		}
		for range 20 {
			h := rapid.Uint64().Draw(t, "h")
			in := 0
			for _, sub := range subs {
				if Contains([]net.Span{sub}, h) {
					in++
				}
			}
			if want := Contains([]net.Span{s}, h); (in == 1) != want || in > 1 {
				t.Fatalf("position %d is in %d sub-spans of %v, and in the span: %v", h, in, subs, want)
			}
		}
	})
	if got := Split(net.Span{Start: 5, End: 5}, 4); len(got) != 4 || got[1] != (net.Span{Start: 5 + 1<<62, End: 5 + 2<<62}) {
		t.Errorf("Split of the whole ring in 4: %v", got)
	}
}

// A digest summed a slice at a time equals one summed at once.
func TestDigestInSlices(t *testing.T) {
	st := fill(500)
	cuts := []net.Span{{Start: 1 << 62, End: 1 << 63}, {Start: 3 << 62, End: 1 << 62}, {Start: 1 << 63, End: 3 << 62}}
	want := Digests(st, cuts)
	d := NewDigest(cuts, st.Keys(), clock.Timestamp{})
	steps := 0
	for !d.Step(st, 37) {
		steps++
	}
	if !slices.Equal(d.Sums.Sums, want) || steps < 10 {
		t.Errorf("in %d slices: %x, at once: %x", steps, d.Sums, want)
	}
}

// A scan that walks its bound of keys without filling its batch ends there
// with more, and asking again from next finds every entry once.
func TestScanWalkBounded(t *testing.T) {
	st := fill(300)
	narrow := []net.Span{{Start: 0, End: 1 << 61}} // about an eighth of the keys
	want, _, _ := Scan(st, narrow, nil, nil, 1<<30)
	var got []net.Entry
	var after []byte
	pages, empty := 0, 0
	for {
		es, more, next := scanKeys(st, st.Keys(), narrow, nil, after, 1<<30, 5)
		pages++
		if len(es) == 0 {
			empty++
		}
		got = append(got, es...)
		if !more {
			break
		}
		after = next
	}
	if len(got) != len(want) || pages < 50 || empty == 0 {
		t.Fatalf("%d entries in %d pages (%d empty), want the %d of one scan in about 60", len(got), pages, empty, len(want))
	}
	for i := range got {
		if string(got[i].Key) != string(want[i].Key) {
			t.Fatalf("entry %d: %s, want %s", i, got[i].Key, want[i].Key)
		}
	}
}

// The digests of a span's sub-spans, split twice, add up to the span's.
func TestDigestsOfSplitSpansAddUp(t *testing.T) {
	st := fill(2000)
	rapid.Check(t, func(t *rapid.T) {
		s := net.Span{Start: rapid.Uint64().Draw(t, "start"), End: rapid.Uint64().Draw(t, "end")}
		var subs []net.Span
		for _, a := range Split(s, 16) {
			subs = append(subs, Split(a, 16)...)
		}
		whole := Digests(st, []net.Span{s})[0]
		var sum uint64
		for _, d := range Digests(st, subs) {
			sum += d
		}
		if sum != whole {
			t.Fatalf("span %v: %d sub-spans sum to %x, the span's digest is %x", s, len(subs), sum, whole)
		}
	})
}

// A digest before a horizon leaves out the versions stamped after it: two
// stores that differ only in keys written since agree on it.
func TestDigestBeforeHorizon(t *testing.T) {
	a, b := fill(300), fill(300)
	b.Apply([]byte("fresh"), store.Version{Value: []byte("new"), Stamp: ts(5000, 2)})
	da := NewDigest(whole, a.Keys(), ts(4000, 0))
	db := NewDigest(whole, b.Keys(), ts(4000, 0))
	da.Step(a, 1000)
	db.Step(b, 1000)
	if da.Sums.Sums[0] != db.Sums.Sums[0] || da.Sums.Keys[0] != 300 {
		t.Errorf("before the horizon: %x (%d keys) and %x (%d keys), want equal", da.Sums.Sums[0], da.Sums.Keys[0], db.Sums.Sums[0], db.Sums.Keys[0])
	}
	if Digests(a, whole)[0] == Digests(b, whole)[0] {
		t.Error("without a horizon the stores' digests agree")
	}
}

// Records leaves out the batch records whose counter is at or below its
// own, and nothing else: a store that collected such a record and one
// that still holds it agree; a younger record, or another key's value as
// old, still differs.
func TestDigestLeavesOutExpiredRecords(t *testing.T) {
	sum := func(st *store.Store) uint64 {
		d := NewDigest(whole, st.Keys(), ts(9000, 0))
		d.Records = ts(3000, 0)
		d.Step(st, 1000)
		return d.Sums.Sums[0]
	}
	rec := store.RecordKey([]byte("tok-0001"))
	a, b := fill(300), fill(300)
	b.Apply(rec, store.RegisterAt(store.AbortRecord(), false, ts(3000, 2)))
	if sum(a) != sum(b) {
		t.Error("an expired record counts in the digest")
	}
	c := fill(300)
	c.Apply(rec, store.RegisterAt(store.AbortRecord(), false, ts(3001, 2)))
	if sum(a) == sum(c) {
		t.Error("a record younger than Records is left out")
	}
	d := fill(300)
	d.Apply([]byte("old"), store.Version{Value: []byte("v"), Stamp: ts(100, 2)})
	if sum(a) == sum(d) {
		t.Error("a plain value older than Records is left out")
	}
	// An aborted batch's marker: an expired one counts for nothing (the
	// key with a value counts as the value alone, one with nothing else
	// not at all); a younger one counts.
	marker := func(c uint64) store.Version {
		return store.IntentAt(store.Intent{Token: []byte("tok-0001"), Stamp: ts(c, 2), Aborted: true})
	}
	e, f := fill(300), fill(300)
	e.Apply([]byte("m"), marker(2000))
	e.Apply([]byte("k1"), marker(2500))
	if sum(a) != sum(e) {
		t.Error("an expired marker counts in the digest")
	}
	f.Apply([]byte("m"), marker(3001))
	if sum(a) == sum(f) {
		t.Error("a marker younger than Records is left out")
	}
}

// Expired leaves out the plain tombstones stamped at or before it, and
// nothing else: a store that dropped such a tombstone and one that still
// holds it agree; a younger tombstone, or a live value, still differs.
func TestDigestLeavesOutExpiredTombstones(t *testing.T) {
	sum := func(st *store.Store) uint64 {
		d := NewDigest(whole, st.Keys(), ts(9000, 0))
		d.Expired = ts(3000, 0)
		d.Step(st, 1000)
		return d.Sums.Sums[0]
	}
	a, b := fill(300), fill(300)
	b.Apply([]byte("gone"), store.Version{Deleted: true, Stamp: ts(2000, 2)})
	if sum(a) != sum(b) {
		t.Error("an expired tombstone counts in the digest")
	}
	c := fill(300)
	c.Apply([]byte("gone"), store.Version{Deleted: true, Stamp: ts(3001, 2)})
	if sum(a) == sum(c) {
		t.Error("a tombstone younger than Expired is left out")
	}
	d := fill(300)
	d.Apply([]byte("old"), store.Version{Value: []byte("v"), Stamp: ts(100, 2)})
	if sum(a) == sum(d) {
		t.Error("a live value older than Expired is left out")
	}
}
