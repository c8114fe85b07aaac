package store

import (
	"fmt"
	"testing"

	"pgregory.net/rapid"
)

// Like genIntents, but values may be a batch's resolution (a value at an
// intent's own stamp), and a state may be a counter.
func genMixed() *rapid.Generator[Version] {
	return rapid.Custom(func(t *rapid.T) Version {
		var v Version
		if rapid.IntRange(0, 5).Draw(t, "counter") == 0 {
			n := rapid.Uint64Range(1, 3).Draw(t, "slot")
			return CounterAt([]Slot{{Node: 1, Gen: 1, Version: n, P: n}})
		}
		for range rapid.IntRange(0, 3).Draw(t, "writes") {
			c := rapid.Uint64Range(1, 5).Draw(t, "t")
			tok := []byte(fmt.Sprint("tok", c%3))
			switch rapid.IntRange(0, 3).Draw(t, "what") {
			case 0: // plain write
				v, _ = Merge(v, RegisterAt([]byte(ts(c*2, 1).String()), false, ts(c*2, 1)))
			case 1: // pending intent
				v, _ = Merge(v, IntentAt(Intent{Token: tok, Stamp: ts(c*2+1, 2), Value: []byte(ts(c*2+1, 2).String())}))
			case 2: // marker
				v, _ = Merge(v, IntentAt(Intent{Token: tok, Stamp: ts(c*2+1, 2), Aborted: true}))
			case 3: // the batch's resolution at its stamp
				v, _ = Merge(v, RegisterAt([]byte(ts(c*2+1, 2).String()), false, ts(c*2+1, 2)))
			}
		}
		return v
	})
}

func TestIntentMergeJoinWithCountersAndMarkers(t *testing.T) {
	gen := genMixed()
	rapid.Check(t, func(t *rapid.T) {
		a, b, c := gen.Draw(t, "a"), gen.Draw(t, "b"), gen.Draw(t, "c")
		merge := func(x, y Version) Version { v, _ := Merge(x, y); return v }
		eq := func(x, y Version) bool {
			if x.Kind != y.Kind {
				return false
			}
			if x.Kind == Counter {
				return string(x.Value) == string(y.Value) && x.Stamp == y.Stamp
			}
			return same(x, y)
		}
		if ab, ba := merge(a, b), merge(b, a); !eq(ab, ba) {
			t.Fatalf("Merge(a, b) = %+v, Merge(b, a) = %+v", ab, ba)
		}
		if l, r := merge(merge(a, b), c), merge(a, merge(b, c)); !eq(l, r) {
			t.Fatalf("(a+b)+c = %+v, a+(b+c) = %+v", l, r)
		}
		if aa, changed := Merge(a, a); changed || !eq(aa, a) {
			t.Fatalf("Merge(a, a) = %+v, %v", aa, changed)
		}
		s := New()
		s.Apply([]byte("k"), a)
		s.Apply([]byte("k"), b)
		s.Apply([]byte("k"), c)
		m := merge(merge(a, b), c)
		want := 0
		if !m.empty() {
			want = 1 + m.size()
		}
		if s.Bytes() != want {
			t.Fatalf("Bytes %d, want %d", s.Bytes(), want)
		}
		if (len(s.WithIntents()) == 1) != m.undecided() {
			t.Fatalf("pending index %v for %+v", s.WithIntents(), m)
		}
	})
}
