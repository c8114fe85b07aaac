package store

import (
	"bytes"
	"fmt"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/memdb/memdb/clock"
	"github.com/memdb/memdb/net"
	"github.com/memdb/memdb/node/oplog"
	"pgregory.net/rapid"
)

// genIntents draws a register with intents from a small universe, so that
// draws share writes: a stamp names one write (of the value or of one
// batch's intent), as in a real cluster.
func genIntents() *rapid.Generator[Version] {
	return rapid.Custom(func(t *rapid.T) Version {
		var v Version
		if c := rapid.Uint64Range(0, 4).Draw(t, "value"); c > 0 {
			v.Stamp = ts(c*2, 1)
			v.Deleted = c == 3
			if !v.Deleted {
				v.Value = []byte(v.Stamp.String())
			}
		}
		for range rapid.IntRange(0, 3).Draw(t, "intents") {
			c := rapid.Uint64Range(1, 5).Draw(t, "t")
			i := Intent{Token: []byte(fmt.Sprint("tok", c%3)), Stamp: ts(c*2+1, 2)}
			if rapid.Bool().Draw(t, "aborted") {
				i.Aborted = true
			} else {
				i.Value, i.Deleted = []byte(i.Stamp.String()), c == 4
				if i.Deleted {
					i.Value = nil
				}
			}
			v, _ = Merge(v, IntentAt(i))
		}
		return v
	})
}

func same(a, b Version) bool { return sameRegister(a, b) && string(a.Value) == string(b.Value) }

// With intents, Merge is still a join, and Covers agrees with it.
func TestIntentMergeIsAJoin(t *testing.T) {
	gen := genIntents()
	rapid.Check(t, func(t *rapid.T) {
		a, b, c := gen.Draw(t, "a"), gen.Draw(t, "b"), gen.Draw(t, "c")
		merge := func(x, y Version) Version { v, _ := Merge(x, y); return v }
		if ab, ba := merge(a, b), merge(b, a); !same(ab, ba) {
			t.Fatalf("Merge(a, b) = %+v, Merge(b, a) = %+v", ab, ba)
		}
		if l, r := merge(merge(a, b), c), merge(a, merge(b, c)); !same(l, r) {
			t.Fatalf("(a+b)+c = %+v, a+(b+c) = %+v", l, r)
		}
		if aa, changed := Merge(a, a); changed || !same(aa, a) {
			t.Fatalf("Merge(a, a) = %+v, %v", aa, changed)
		}
		m := merge(a, b)
		if !Covers(m, a) || !Covers(m, b) {
			t.Fatalf("the merge %+v of %+v and %+v does not cover both", m, a, b)
		}
		for _, i := range m.Intents() {
			if !m.Stamp.Less(i.Stamp) {
				t.Fatalf("the merge %+v keeps intent %+v its value settles", m, i)
			}
		}
		// Every encoding gives the state back.
		if m.empty() {
			return
		}
		e := Entry([]byte("k"), m)
		if err := CheckEntry(e); err != nil {
			t.Fatalf("CheckEntry(Entry(%+v)): %v", m, err)
		}
		if got := FromEntry(e); !same(got, m) {
			t.Fatalf("entry round trip: %+v, want %+v", got, m)
		}
		got, _, err := FromRecord(Record([]byte("k"), m))
		if err != nil || !same(got, m) {
			t.Fatalf("record round trip: %+v, %v; want %+v", got, err, m)
		}
		if got, err := FromAnswer(PeerAnswer([]byte("k"), m)); err != nil || !same(got, m) {
			t.Fatalf("peer answer round trip: %+v, %v; want %+v", got, err, m)
		}
	})
}

// An intent is settled by its batch's write or any later one, and a marker
// outranks the pending intent of the same batch.
func TestIntentSettles(t *testing.T) {
	i := Intent{Token: []byte("tok"), Stamp: ts(5, 2), Value: []byte("b")}
	v, _ := Merge(RegisterAt([]byte("a"), false, ts(3, 1)), IntentAt(i))
	if len(v.Undecided()) != 1 || string(v.Value) != "a" || v.Latest() != i.Stamp {
		t.Fatalf("a value with an intent: %+v", v)
	}
	if got := ReadAnswer(v, false).(*net.Value); string(got.Value) != "a" {
		t.Errorf("a read of a value with an undecided intent answers %q, want the value", got.Value)
	}
	w, ok := Decide(i, Committed, i.Stamp)
	if !ok {
		t.Fatal("a committed intent did not decide")
	}
	if got, _ := Merge(v, w); got.Intents() != nil || string(got.Value) != "b" || got.Stamp != i.Stamp {
		t.Errorf("the batch's write did not settle its intent: %+v", got)
	}
	marker, _ := Decide(i, Aborted, ts(0, 0))
	got, _ := Merge(v, marker)
	if len(got.Undecided()) != 0 || len(got.Intents()) != 1 || string(got.Value) != "a" {
		t.Errorf("an aborted intent: %+v", got)
	}
	if late, changed := Merge(got, IntentAt(i)); changed || len(late.Undecided()) != 0 {
		t.Errorf("a late copy of an aborted intent became pending again: %+v", late)
	}
	if other, _ := Decide(i, Committed, ts(9, 3)); len(other.Intents()) != 1 || !other.Intents()[0].Aborted {
		t.Errorf("an intent of an attempt that did not commit was not aborted: %+v", other)
	}
	if later, _ := Merge(got, RegisterAt([]byte("c"), false, ts(6, 1))); later.Intents() != nil {
		t.Errorf("a later write did not settle the marker: %+v", later)
	}
	if _, ok := Decide(i, Undecided, ts(0, 0)); ok {
		t.Error("an undecided record decided the intent")
	}
}

func TestIntentDecodeRefuses(t *testing.T) {
	good := encodeIntents(IntentAt(Intent{Token: []byte("tok"), Stamp: ts(5, 2), Value: []byte("b")}))
	if _, err := decodeIntents(good); err != nil {
		t.Fatalf("a good encoding: %v", err)
	}
	for n := range len(good) {
		if _, err := decodeIntents(good[:n]); err == nil {
			t.Errorf("a truncation to %d bytes decoded", n)
		}
	}
	if _, err := decodeIntents(append(good, 0)); err == nil {
		t.Error("trailing bytes decoded")
	}
	noIntents := encodeIntents(RegisterAt([]byte("a"), false, ts(1, 1)))
	if _, err := decodeIntents(noIntents); err == nil {
		t.Error("a state with no intents decoded as one with intents")
	}
	rapid.Check(t, func(t *rapid.T) {
		decodeIntents(rapid.SliceOf(rapid.Byte()).Draw(t, "bytes")) // never panics
	})
	r := oplog.Record{Type: oplog.TypeIntents, Key: []byte("k"), Value: good[:5]}
	if _, _, err := FromRecord(r); err == nil {
		t.Error("a corrupt intents record decoded")
	}
}

func TestBatchRecords(t *testing.T) {
	keys := [][]byte{[]byte("k1"), []byte("k2")}
	old := append([]byte{'C'}, appendStamp(nil, ts(7, 3))...) // written before records named their keys
	for _, c := range []struct {
		found bool
		b     []byte
		want  BatchRecord
	}{
		{false, nil, BatchRecord{}},
		{true, AbortRecord(), BatchRecord{Outcome: Aborted}},
		{true, CommitRecord(ts(7, 3), keys), BatchRecord{Outcome: Committed, At: ts(7, 3), Keys: keys, Named: true}},
		{true, old, BatchRecord{Outcome: Committed, At: ts(7, 3)}},
	} {
		got, err := ReadRecord(c.found, c.b)
		if err != nil {
			t.Errorf("ReadRecord(%v, %q): %v", c.found, c.b, err)
			continue
		}
		if diff := cmp.Diff(c.want, got); diff != "" {
			t.Errorf("ReadRecord(%v, %q): %s", c.found, c.b, diff)
		}
		if o, at, _ := ParseRecord(c.found, c.b); o != c.want.Outcome || at != c.want.At {
			t.Errorf("ParseRecord(%v, %q) = %v %v", c.found, c.b, o, at)
		}
	}

	// The largest batch's record still fits a value.
	var big [][]byte
	for i := range net.MaxBatchKeys {
		big = append(big, fmt.Appendf(bytes.Repeat([]byte("k"), net.MaxBatchBytes/net.MaxBatchKeys-4), "%03d", i))
	}
	if b := CommitRecord(ts(1, 1), big); len(b) > net.MaxValue {
		t.Errorf("the largest batch's record is %d bytes, over a value's %d", len(b), net.MaxValue)
	} else if r, err := ReadRecord(true, b); err != nil || len(r.Keys) != net.MaxBatchKeys {
		t.Errorf("the largest batch's record: %d keys, %v", len(r.Keys), err)
	}

	good := CommitRecord(ts(7, 3), keys)
	for what, b := range map[string][]byte{
		"junk":          []byte("x"),
		"empty":         {},
		"no keys":       CommitRecord(ts(7, 3), nil),
		"an empty key":  CommitRecord(ts(7, 3), [][]byte{[]byte("a"), nil}),
		"a key twice":   CommitRecord(ts(7, 3), [][]byte{[]byte("a"), []byte("a")}),
		"cut short":     good[:len(good)-1],
		"trailing byte": append(slices.Clone(good), 0),
		"too many keys": CommitRecord(ts(7, 3), append(big, []byte("one more"))),
	} {
		if _, err := ReadRecord(true, b); err == nil {
			t.Errorf("a record with %s parsed", what)
		}
	}
	var over [][]byte
	for i := 0; len(over)*net.MaxKey <= net.MaxBatchBytes; i++ {
		over = append(over, fmt.Appendf(bytes.Repeat([]byte("k"), net.MaxKey-4), "%04d", i))
	}
	if _, err := ReadRecord(true, CommitRecord(ts(7, 3), over)); err == nil {
		t.Errorf("a record of %d keys of %d bytes (over %d in all) parsed", len(over), net.MaxKey, net.MaxBatchBytes)
	}
	if diff := cmp.Diff("\x00memdb/txn/ab", string(RecordKey([]byte("ab")))); diff != "" {
		t.Error(diff)
	}
	if !IsRecordKey(RecordKey([]byte("ab"))) || IsRecordKey([]byte("ab")) {
		t.Error("IsRecordKey")
	}
}

// A state holds a batch's write once it is a register at or past the
// batch's version with no undecided intent of the batch, of whatever
// attempt; a marker of it, or another batch's intent, does not matter.
func TestHoldsWrite(t *testing.T) {
	tok, other := []byte("tok-0001"), []byte("tok-0002")
	at := ts(10, 1)
	reg := func(c uint64) Version { return RegisterAt([]byte("v"), false, ts(c, 2)) }
	with := func(v Version, is ...Intent) Version {
		for _, i := range is {
			v, _ = mergeIntents(v, IntentAt(i))
		}
		return v
	}
	for _, c := range []struct {
		name string
		v    Version
		want bool
	}{
		{"the write", RegisterAt([]byte("v"), false, at), true},
		{"a later write", reg(11), true},
		{"a later delete", RegisterAt(nil, true, ts(12, 1)), true},
		{"an earlier write", reg(9), false},
		{"nothing", Version{}, false},
		{"a counter", CounterAt([]Slot{{Node: 1, Gen: 1, Version: 20, P: 1}}), false},
		{"the batch's intent, undecided", with(reg(9), Intent{Token: tok, Stamp: at, Value: []byte("x")}), false},
		{"another attempt's intent, undecided", with(reg(11), Intent{Token: tok, Stamp: ts(13, 3), Value: []byte("x")}), false},
		{"a marker of the batch", with(reg(11), Intent{Token: tok, Stamp: ts(13, 3), Aborted: true}), true},
		{"another batch's intent", with(reg(11), Intent{Token: other, Stamp: ts(13, 3), Value: []byte("x")}), true},
	} {
		if got := HoldsWrite(c.v, tok, at); got != c.want {
			t.Errorf("%s (%v): HoldsWrite = %v, want %v", c.name, c.v, got, c.want)
		}
	}
}

// DropMarkers drops the aborted markers the bound expires, by counter,
// and nothing else: not a younger marker, not a pending intent however
// old; a state left with nothing is Nothing.
func TestDropMarkers(t *testing.T) {
	tok := []byte("tok-0001")
	marker := func(c uint64) Intent { return Intent{Token: tok, Stamp: ts(c, 3), Aborted: true} }
	pending := Intent{Token: []byte("tok-0002"), Stamp: ts(5, 3), Value: []byte("x")}
	with := func(v Version, is ...Intent) Version {
		for _, i := range is {
			v, _ = mergeIntents(v, IntentAt(i))
		}
		return v
	}
	bound := ts(10, 1)
	for _, c := range []struct {
		name    string
		v       Version
		want    Version
		changed bool
	}{
		{"a plain value", RegisterAt([]byte("v"), false, ts(3, 1)), RegisterAt([]byte("v"), false, ts(3, 1)), false},
		{"an expired marker", with(RegisterAt([]byte("v"), false, ts(3, 1)), marker(10)), RegisterAt([]byte("v"), false, ts(3, 1)), true},
		{"a younger marker", with(RegisterAt([]byte("v"), false, ts(3, 1)), marker(11)), with(RegisterAt([]byte("v"), false, ts(3, 1)), marker(11)), false},
		{"a pending intent", with(RegisterAt([]byte("v"), false, ts(3, 1)), pending, marker(4)), with(RegisterAt([]byte("v"), false, ts(3, 1)), pending), true},
		{"only markers", with(Version{Kind: Register}, marker(4), marker(6)), Version{Kind: Register}, true},
	} {
		got, changed := DropMarkers(c.v, bound)
		if changed != c.changed || !sameRegister(got, c.want) || got.Nothing() != c.want.Nothing() {
			t.Errorf("%s: DropMarkers = %v %v, want %v %v", c.name, got, changed, c.want, c.changed)
		}
	}
	if _, changed := DropMarkers(with(Version{Kind: Register}, marker(4)), clock.Timestamp{}); changed {
		t.Error("a zero bound expired a marker")
	}
	if !(Version{Kind: Register}).Nothing() || RegisterAt(nil, true, ts(1, 1)).Nothing() {
		t.Error("Nothing")
	}
}

// WithIntents lists the keys with undecided intents only: a key whose
// intents are settled or aborted leaves it.
func TestWithIntents(t *testing.T) {
	s := New()
	i := Intent{Token: []byte("tok"), Stamp: ts(5, 2), Value: []byte("b")}
	s.Apply([]byte("a"), IntentAt(i))
	s.Apply([]byte("b"), IntentAt(i))
	if got := s.WithIntents(); len(got) != 2 || got[0] != "a" || got[1] != "b" {
		t.Fatalf("WithIntents = %q, want [a b]", got)
	}
	marker, _ := Decide(i, Aborted, ts(0, 0))
	s.Apply([]byte("a"), marker)
	done, _ := Decide(i, Committed, i.Stamp)
	s.Apply([]byte("b"), done)
	if got := s.WithIntents(); len(got) != 0 {
		t.Errorf("WithIntents after an abort and a commit = %q, want none", got)
	}
	if v, _ := s.Get([]byte("a")); len(v.Intents()) != 1 {
		t.Errorf("the aborted marker is gone: %+v", v)
	}
}
