package store

import (
	"fmt"
	"maps"
	"runtime"
	"slices"
	"testing"

	"github.com/memdb/memdb/clock"
	"pgregory.net/rapid"
)

func ts(c uint64, n uint16) clock.Timestamp { return clock.Timestamp{Counter: c, Node: n} }

func TestApplyLastWriterWins(t *testing.T) {
	tests := []struct {
		name    string
		first   Version
		second  Version
		applied bool
		want    string
	}{
		{"later counter wins", Version{Value: []byte("a"), Stamp: ts(1, 1)}, Version{Value: []byte("b"), Stamp: ts(2, 1)}, true, "b"},
		{"earlier counter loses", Version{Value: []byte("a"), Stamp: ts(2, 1)}, Version{Value: []byte("b"), Stamp: ts(1, 9)}, false, "a"},
		{"node id breaks ties", Version{Value: []byte("a"), Stamp: ts(3, 1)}, Version{Value: []byte("b"), Stamp: ts(3, 2)}, true, "b"},
		{"same stamp is not reapplied", Version{Value: []byte("a"), Stamp: ts(3, 1)}, Version{Value: []byte("a"), Stamp: ts(3, 1)}, false, "a"},
		{"later tombstone wins", Version{Value: []byte("a"), Stamp: ts(1, 1)}, Version{Deleted: true, Stamp: ts(2, 1)}, true, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := New()
			s.Apply([]byte("k"), tt.first)
			if got := s.Apply([]byte("k"), tt.second); got != tt.applied {
				t.Fatalf("Apply(second) = %v, want %v", got, tt.applied)
			}
			v, _ := s.Get([]byte("k"))
			if string(v.Value) != tt.want {
				t.Fatalf("value = %q, want %q", v.Value, tt.want)
			}
		})
	}
}

// Applying the same set of versions in any order gives the same table: the
// property replication relies on.
func TestApplyOrderIndependent(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		type write struct {
			Key     string
			Counter uint64
			Node    uint16
		}
		gen := rapid.Custom(func(t *rapid.T) write {
			return write{
				Key:     rapid.SampledFrom([]string{"a", "b", "c"}).Draw(t, "key"),
				Counter: rapid.Uint64Range(1, 5).Draw(t, "counter"),
				Node:    rapid.Uint16Range(1, 3).Draw(t, "node"),
			}
		})
		writes := rapid.SliceOfN(gen, 1, 30).Draw(t, "writes")
		perm := rapid.Permutation(writes).Draw(t, "perm")
		apply := func(ws []write) *Store {
			s := New()
			for _, w := range ws {
				// The version is a function of the stamp, as it is in a
				// real cluster, where a stamp names exactly one write.
				stamp := ts(w.Counter, w.Node)
				v := Version{Stamp: stamp, Deleted: (w.Counter+uint64(w.Node))%3 == 0}
				if !v.Deleted {
					v.Value = []byte(stamp.String())
				}
				s.Apply([]byte(w.Key), v)
			}
			return s
		}
		a, b := apply(writes), apply(perm)
		for k := range a.Keys().All() {
			va, _ := a.Get([]byte(k))
			vb, _ := b.Get([]byte(k))
			if va.Stamp != vb.Stamp {
				t.Fatalf("key %q: stamp %v in order, %v permuted", k, va.Stamp, vb.Stamp)
			}
		}
		if a.Len() != b.Len() || a.Bytes() != b.Bytes() {
			t.Fatalf("len/bytes differ: %d/%d vs %d/%d", a.Len(), a.Bytes(), b.Len(), b.Bytes())
		}
	})
}

// Keys is every key in order after any sequence of writes, and a slice it
// returned earlier is never changed by later ones (compaction iterates one
// while writes go on).
// heldKeys is keys without those s does not hold (dropped, not unlisted
// yet), checking they are sorted, each once, and at most twice as many as
// those held (plus the bound under which Drop does not unlist).
func heldKeys(s *Store, list Keys) []string {
	keys := slices.Collect(list.All())
	if !slices.IsSorted(keys) || len(slices.Compact(slices.Clone(keys))) != len(keys) {
		panic(fmt.Sprintf("keys not sorted or listed twice: %q", keys))
	}
	if len(keys) > 2*s.Len()+unlistAfter {
		panic(fmt.Sprintf("%d keys listed for %d held", len(keys), s.Len()))
	}
	var out []string
	for _, k := range keys {
		if _, ok := s.Get([]byte(k)); ok {
			out = append(out, k)
		}
	}
	return out
}

func TestKeysSortedAndStable(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		s := New()
		want := map[string]bool{}
		var held Keys
		var heldCopy []string
		for i := range rapid.IntRange(0, 60).Draw(t, "writes") {
			k := rapid.StringN(1, 3, 3).Draw(t, "key")
			switch rapid.IntRange(0, 3).Draw(t, "op") {
			case 0:
				// Drop, as the tombstone rule does, and check the bytes
				// it gives back.
				before := s.Bytes()
				v, ok := s.Get([]byte(k))
				s.Drop([]byte(k))
				delete(want, k)
				if _, still := s.Get([]byte(k)); still || ok && s.Bytes() != before-len(k)-v.size() || s.Len() != len(want) {
					t.Fatalf("Drop(%q): still held %v, bytes %d → %d, len %d (want %d)", k, still, before, s.Bytes(), s.Len(), len(want))
				}
			case 1:
				// A walk begun off the loop (Order, Merge, Adopt).
				o := s.Order()
				s.Adopt(o, o.Merge())
			default:
				s.Apply([]byte(k), Version{Value: []byte("v"), Stamp: clock.Timestamp{Counter: uint64(i + 1), Node: 1}})
				want[k] = true
			}
			if rapid.Bool().Draw(t, "look") {
				raw := s.Keys()
				got := heldKeys(s, raw)
				exp := slices.Sorted(maps.Keys(want))
				if !slices.Equal(got, exp) {
					t.Fatalf("Keys() = %q, want %q", got, exp)
				}
				if heldCopy == nil {
					held, heldCopy = raw, slices.Collect(raw.All())
				}
			}
		}
		if got := slices.Collect(held.All()); !slices.Equal(got, heldCopy) {
			t.Fatalf("a list Keys returned changed from %q to %q", heldCopy, got)
		}
	})
}

// A state's hash covers the key, the stamp, the tombstone flag and the
// value: changing any one changes it. Its bytes are pinned: digests are
// compared between nodes, so a change of hash across versions would make
// every arc differ during an upgrade.
func TestHash(t *testing.T) {
	v := Version{Value: []byte("v"), Stamp: ts(7, 2)}
	base := Hash([]byte("k"), v)
	if base != 0x5f5f5df5e734fa0d {
		t.Errorf("Hash(k, v@7.2) = %#x, pinned %#x", base, uint64(0x5f5f5df5e734fa0d))
	}
	other := v
	other.Stamp.Counter++
	tomb := v
	tomb.Deleted, tomb.Value = true, nil
	val := v
	val.Value = []byte("w")
	for name, got := range map[string]uint64{
		"key": Hash([]byte("K"), v), "stamp": Hash([]byte("k"), other),
		"tombstone": Hash([]byte("k"), tomb), "value": Hash([]byte("k"), val),
	} {
		if got == base {
			t.Errorf("a different %s hashes the same", name)
		}
	}
}

// Merge is a join: commutative, associative and idempotent, and Covers
// agrees with it. Replicas that see the same states in any order, any
// number of times, agree on the key.
func TestMergeIsAJoin(t *testing.T) {
	gen := rapid.Custom(func(t *rapid.T) Version {
		if rapid.IntRange(0, 2).Draw(t, "kind") == 0 {
			return genCounter().Draw(t, "counter")
		}
		stamp := ts(rapid.Uint64Range(0, 4).Draw(t, "counter"), rapid.Uint16Range(1, 2).Draw(t, "node"))
		if stamp.Counter == 0 {
			return Version{} // the key had nothing
		}
		// A stamp names one write, as in a real cluster.
		v := Version{Stamp: stamp, Deleted: stamp.Counter == 3}
		if !v.Deleted {
			v.Value = []byte(stamp.String())
		}
		return v
	})
	rapid.Check(t, func(t *rapid.T) {
		a, b, c := gen.Draw(t, "a"), gen.Draw(t, "b"), gen.Draw(t, "c")
		merge := func(x, y Version) Version { v, _ := Merge(x, y); return v }
		if ab, ba := merge(a, b), merge(b, a); ab.Stamp != ba.Stamp || string(ab.Value) != string(ba.Value) || ab.Kind != ba.Kind {
			t.Fatalf("Merge(a, b) = %v, Merge(b, a) = %v", ab, ba)
		}
		if l, r := merge(merge(a, b), c), merge(a, merge(b, c)); l.Stamp != r.Stamp || string(l.Value) != string(r.Value) {
			t.Fatalf("(a+b)+c = %v, a+(b+c) = %v", l, r)
		}
		if aa, changed := Merge(a, a); changed || aa.Stamp != a.Stamp {
			t.Fatalf("Merge(a, a) = %v, %v", aa, changed)
		}
		m := merge(a, b)
		if !Covers(m, a) || !Covers(m, b) {
			t.Fatalf("the merge %v of %v and %v does not cover both", m, a, b)
		}
		if _, changed := Merge(a, b); changed == Covers(a, b) {
			t.Fatalf("Merge(a, b) changed %v, but Covers(a, b) = %v", changed, Covers(a, b))
		}
	})
}

func TestUnknownKindPanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("merging states of an undefined kind did not panic")
		}
	}()
	Merge(Version{Kind: 99, Stamp: ts(1, 1)}, Version{Kind: 99, Stamp: ts(2, 1)})
}

// A store that drops as many keys as it adds lists only about the keys it
// holds, even when no one calls Keys between walks that merge off the loop
// (Order, Merge, Adopt), as a node's anti-entropy and compactions do
// once more than a slice of keys was added: new keys set, deleted and
// dropped, 3,000 between walks, for 100 walks. Keys is still every key
// held, in order.
func TestDroppedKeysUnlisted(t *testing.T) {
	s := New()
	const rounds, perRound, kept = 100, 3000, 10
	held := map[string]bool{}
	for r := range rounds {
		for i := range perRound {
			k := fmt.Sprintf("r%03d-%05d", r, i)
			s.Apply([]byte(k), Version{Value: []byte("v"), Stamp: ts(uint64(r*perRound+i+1), 1)})
			if i < kept {
				held[k] = true
				continue
			}
			s.Apply([]byte(k), Version{Deleted: true, Stamp: ts(uint64(rounds*perRound+r*perRound+i+1), 1)})
			s.Drop([]byte(k))
		}
		o := s.Order()
		s.Adopt(o, o.Merge())
	}
	if listed, most := s.sorted.len()+len(s.added), 2*s.Len()+2*unlistAfter; listed > most {
		t.Fatalf("after %d keys added and %d dropped: %d listed for %d held, want at most %d", rounds*perRound, rounds*(perRound-kept), listed, s.Len(), most)
	}
	if got, want := heldKeys(s, s.Keys()), slices.Sorted(maps.Keys(held)); !slices.Equal(got, want) {
		t.Fatalf("Keys() = %d keys, want the %d held (first got %q, first want %q)", len(got), len(want), got[:min(3, len(got))], want[:min(3, len(want))])
	}
}

// Dropping every key gives back its memory: the map's, and the lists'
// (sorted and added, whose old arrays a filtered-out slice must not keep).
// 200,000 keys of 100-byte values, listed once by an off-loop walk, then
// deleted and dropped; what the store still holds once collected is
// under 8 bytes a key (the keys alone, listed, take 32).
func TestDropGivesMemoryBack(t *testing.T) {
	heap := func() int64 {
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return int64(m.HeapAlloc)
	}
	const n = 200_000
	key := func(i int) []byte { return fmt.Appendf(nil, "tomb:%08d", i) }
	before := heap()
	s := New()
	for i := range n {
		s.Apply(key(i), Version{Value: make([]byte, 100), Stamp: ts(uint64(i+1), 1)})
	}
	o := s.Order()
	s.Adopt(o, o.Merge())
	for i := range n {
		s.Apply(key(i), Version{Deleted: true, Stamp: ts(uint64(n+i+1), 1)})
	}
	loaded := heap() - before
	for i := range n {
		s.Drop(key(i))
	}
	left := heap() - before
	runtime.KeepAlive(s)
	if left > 8*n {
		t.Fatalf("%d keys held %d bytes; every one dropped, the store still holds %d (%.1f a key), want under %d (8 a key)", n, loaded, left, float64(left)/n, 8*n)
	}
	t.Logf("%d keys held %d bytes; every one dropped, %d (%.1f a key)", n, loaded, left, float64(left)/n)
}
