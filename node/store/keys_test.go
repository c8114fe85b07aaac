package store

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"pgregory.net/rapid"
)

// checkList fails unless l's blocks are what merge promises: none empty,
// none over maxBlock, their keys in strictly increasing order across
// blocks, and starts counting them.
func checkList(t interface{ Fatalf(string, ...any) }, l *list) {
	if l == nil {
		return
	}
	prev, first := "", true
	for b, blk := range l.blocks {
		if len(blk) == 0 || len(blk) > maxBlock {
			t.Fatalf("block %d of %d holds %d keys, want 1 to %d", b, len(l.blocks), len(blk), maxBlock)
		}
		if l.starts[b+1]-l.starts[b] != len(blk) {
			t.Fatalf("block %d: starts say %d keys, it holds %d", b, l.starts[b+1]-l.starts[b], len(blk))
		}
		for _, r := range blk {
			k := r.str(l.chunks)
			if !first && k <= prev {
				t.Fatalf("block %d: %q after %q", b, k, prev)
			}
			prev, first = k, false
		}
	}
}

// Keys merged in rounds of any size are every key added, in order, each
// once, in blocks as merge promises; Cut and After agree with the same
// operations on a sorted slice; and a list handed out never changes
// while later merges, drops and unlistings go on (keys are added in
// thousands, so that blocks fill and split).
func TestKeysMergeInBlocks(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		s := New()
		want := map[string]bool{}
		type held struct {
			keys Keys
			copy []string
		}
		var lists []held
		rounds := rapid.IntRange(1, 6).Draw(t, "rounds")
		for r := range rounds {
			n := rapid.SampledFrom([]int{0, 1, 3, maxBlock - 1, maxBlock + 1, 3 * maxBlock}).Draw(t, "added")
			space := rapid.IntRange(1, 4).Draw(t, "space") * 3000
			for i := range n {
				k := fmt.Sprintf("k%06d", (i*7919+r*104729)%space)
				s.Apply([]byte(k), Version{Value: []byte("v"), Stamp: ts(uint64(r*100000+i+1), 1)})
				want[k] = true
			}
			if drop := rapid.IntRange(0, 3).Draw(t, "drops"); drop > 0 {
				for k := range slices.Values(slices.Sorted(mapsKeys(want))) {
					if drop == 0 {
						break
					}
					s.Drop([]byte(k))
					delete(want, k)
					drop--
				}
			}
			var keys Keys
			if rapid.Bool().Draw(t, "offLoop") {
				o := s.Order()
				keys = o.Merge()
				s.Adopt(o, keys)
			} else {
				keys = s.Keys()
			}
			checkList(t, keys.l)
			all := slices.Collect(keys.All())
			if got, exp := heldKeys(s, keys), slices.Sorted(mapsKeys(want)); !slices.Equal(got, exp) {
				t.Fatalf("round %d: Keys holds %d keys, want %d", r, len(got), len(exp))
			}
			// Cut and After, against the slice.
			at := rapid.IntRange(0, len(all)).Draw(t, "cut")
			head, rest := keys.Cut(at)
			if !slices.Equal(slices.Collect(head.All()), all[:at]) || !slices.Equal(slices.Collect(rest.All()), all[at:]) {
				t.Fatalf("Cut(%d) of %d keys: %d and %d", at, len(all), head.Len(), rest.Len())
			}
			probe := fmt.Sprintf("k%06d", rapid.IntRange(0, 12000).Draw(t, "after"))
			i, _ := slices.BinarySearch(all[at:], probe)
			for at+i < len(all) && all[at+i] <= probe {
				i++
			}
			if got := slices.Collect(rest.After(probe).All()); !slices.Equal(got, all[at+i:]) {
				t.Fatalf("After(%q) of keys %d on: %d keys, want %d", probe, at, len(got), len(all)-at-i)
			}
			lists = append(lists, held{keys, all})
		}
		for i, h := range lists {
			if got := slices.Collect(h.keys.All()); !slices.Equal(got, h.copy) {
				t.Fatalf("list %d changed: %d keys, was %d", i, len(got), len(h.copy))
			}
		}
	})
}

func mapsKeys(m map[string]bool) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// A merge of a few keys into a large list copies only the blocks they
// land in: the blocks it does not touch are the old list's own.
func TestKeysMergeSharesBlocks(t *testing.T) {
	s := New()
	for i := range 100 * maxBlock {
		s.Apply(fmt.Appendf(nil, "k%08d", i), Version{Value: []byte("v"), Stamp: ts(uint64(i+1), 1)})
	}
	before := s.Keys()
	s.Apply([]byte("k00050000x"), Version{Value: []byte("v"), Stamp: ts(1<<30, 1)})
	after := s.Keys()
	if after.Len() != before.Len()+1 {
		t.Fatalf("%d keys after adding one to %d", after.Len(), before.Len())
	}
	shared := 0
	for _, blk := range after.l.blocks {
		for _, old := range before.l.blocks {
			if &blk[0] == &old[0] {
				shared++
				break
			}
		}
	}
	if want := len(before.l.blocks) - 1; shared < want {
		t.Fatalf("a merge of one key shares %d of %d blocks, want %d", shared, len(before.l.blocks), want)
	}
}

// BenchmarkKeysMerge times Keys after a few keys were added to a store of
// a million keys: the merge that scans, digests and compactions pay on the
// node's loop.
//
//	go test ./node/store -run '^$' -bench KeysMerge -benchmem
func BenchmarkKeysMerge(b *testing.B) {
	for _, n := range []int{1_000_000, 10_000_000} {
		if testing.Short() && n > 1_000_000 {
			continue
		}
		s := New()
		for i := range n {
			s.Apply(fmt.Appendf(nil, "key:%012d", (i*7919)%n), Version{Value: []byte("v"), Stamp: ts(uint64(i+1), 1)})
		}
		start := time.Now()
		s.Keys()
		b.Logf("%d keys: first merge %v", n, time.Since(start))
		for _, added := range []int{1, 100, 1000} {
			b.Run(fmt.Sprintf("keys=%d/added=%d", n, added), func(b *testing.B) {
				i := 0
				for b.Loop() {
					for range added {
						s.Apply(fmt.Appendf(nil, "key:%012dx%s", (i*104729)%n, strings.Repeat("y", i%3)), Version{Value: []byte("v"), Stamp: ts(uint64(n+i+1), 1)})
						i++
					}
					s.Keys()
				}
			})
		}
	}
}

// An Order merged on another goroutine while the store goes on — keys
// added, overwritten, dropped and unlisted — reads nothing the store
// writes: run with -race (make test's race set includes this package).
func TestOrderMergedOffLoop(t *testing.T) {
	s := New()
	put := func(i int) {
		s.Apply(fmt.Appendf(nil, "k%07d", i), Version{Value: []byte("v"), Stamp: ts(uint64(i+1), 1)})
	}
	for i := range 3 * maxBlock {
		put(i)
	}
	s.Keys()
	for round := range 20 {
		for i := range maxBlock {
			put(100000*(round+1) + i)
		}
		o := s.Order()
		done := make(chan Keys)
		go func() { done <- o.Merge() }()
		// Meanwhile: new keys, overwrites, and enough drops to unlist.
		for i := range unlistAfter + maxBlock {
			k := fmt.Appendf(nil, "k%07d", 100000*(round+1)+i%maxBlock)
			if i%2 == 0 {
				s.Apply(k, Version{Deleted: true, Stamp: ts(uint64(1<<20+round*100000+i), 1)})
				s.Drop(k)
			} else {
				put(5000000 + round*100000 + i)
			}
		}
		merged := <-done
		s.Adopt(o, merged)
		checkList(t, merged.l)
		if got := heldKeys(s, s.Keys()); !slices.IsSorted(got) {
			t.Fatalf("round %d: keys out of order", round)
		}
	}
}
