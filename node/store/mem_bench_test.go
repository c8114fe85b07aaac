package store

import (
	"fmt"
	"runtime"
	"testing"
	"time"
)

// BenchmarkMemoryPerKey reports the heap a store holds per key: counters
// with 1, 3 and 10 slots (their values in the low thousands, as after
// some use), registers with an 8-byte value for comparison, and issue
// 20's case, a million registers of 100-byte values, also after each was
// overwritten twice in a scattered order (what reclaim leaves). Keys are
// 16 bytes.
// gc-ms is one full collection's time once loaded: what the collector
// spends marking the table. It is a measurement for PAPER, not a test:
//
//	go test ./node/store -run '^$' -bench MemoryPerKey -benchtime 1x
func BenchmarkMemoryPerKey(b *testing.B) {
	key := func(i int) []byte { return fmt.Appendf(nil, "counter:%08d", i) }
	value := make([]byte, 100)
	for _, tc := range []struct {
		name     string
		n        int
		state    func(i int) Version
		rewrites int
	}{
		{"register-8B", 200_000, func(i int) Version { return Version{Value: []byte("12345678"), Stamp: ts(uint64(i+1), 1)} }, 0},
		{"counter-1-slot", 200_000, func(i int) Version { return counterOf(1, i) }, 0},
		{"counter-3-slots", 200_000, func(i int) Version { return counterOf(3, i) }, 0},
		{"counter-10-slots", 200_000, func(i int) Version { return counterOf(10, i) }, 0},
		{"register-100B-1M", 1_000_000, func(i int) Version {
			return Version{Value: append([]byte(nil), value...), Stamp: ts(uint64(i+1), 1)}
		}, 0},
		{"register-100B-1M-overwritten", 1_000_000, func(i int) Version {
			return Version{Value: append([]byte(nil), value...), Stamp: ts(uint64(i+1), 1)}
		}, 2},
	} {
		b.Run(tc.name, func(b *testing.B) {
			for range b.N {
				before := heap()
				s := New()
				for i := range tc.n {
					s.Apply(key(i), tc.state(i))
				}
				for r := range tc.rewrites {
					for i := range tc.n {
						j := i * 7919 % tc.n
						v := tc.state(j)
						v.Stamp.Counter += uint64((r + 1) * tc.n)
						s.Apply(key(j), v)
					}
				}
				s.Keys()
				after := heap()
				start := time.Now()
				runtime.GC()
				gc := time.Since(start)
				runtime.KeepAlive(s)
				b.ReportMetric(float64(after-before)/float64(tc.n), "heap-B/key")
				b.ReportMetric(float64(s.Bytes())/float64(tc.n), "store-B/key")
				b.ReportMetric(float64(gc.Microseconds())/1000, "gc-ms")
			}
		})
	}
}

// BenchmarkStore times the hot path on a store of a million 16-byte keys
// holding 100-byte values: Get of a key it holds, Get of one it does not,
// Apply of a later version of a key it holds (an overwrite), and Apply of
// a version it already has (a duplicate, as replication delivers).
//
//	go test ./node/store -run '^$' -bench 'Store/' -benchmem
func BenchmarkStore(b *testing.B) {
	const n = 1_000_000
	keys := make([][]byte, n)
	for i := range keys {
		keys[i] = fmt.Appendf(nil, "key:%012d", (i*7919)%n)
	}
	value := make([]byte, 100)
	load := func() *Store {
		s := New()
		for i, k := range keys {
			s.Apply(k, Version{Value: append([]byte(nil), value...), Stamp: ts(uint64(i+1), 1)})
		}
		s.Keys()
		return s
	}
	s := load()
	b.Run("Get", func(b *testing.B) {
		i := 0
		for b.Loop() {
			if _, ok := s.Get(keys[i%n]); !ok {
				b.Fatal("missing")
			}
			i += 13
		}
	})
	b.Run("GetMissing", func(b *testing.B) {
		miss := []byte("nokey:0000000000")
		i := 0
		for b.Loop() {
			miss[len(miss)-1] = byte('0' + i%10)
			miss[len(miss)-2] = byte('0' + i/10%10)
			if _, ok := s.Get(miss); ok {
				b.Fatal("found")
			}
			i++
		}
	})
	b.Run("ApplyOverwrite", func(b *testing.B) {
		c := uint64(2 * n)
		i := 0
		vs := make([][]byte, 1024)
		for b.Loop() {
			// The value is the caller's, as a decoded entry's is: made
			// for this Apply, outside the loop's timing where possible.
			if i%1024 == 0 {
				b.StopTimer()
				for j := range vs {
					vs[j] = append([]byte(nil), value...)
				}
				b.StartTimer()
			}
			c++
			s.Apply(keys[i%n], Version{Value: vs[i%1024], Stamp: ts(c, 1)})
			i += 13
		}
	})
	b.Run("ApplyDuplicate", func(b *testing.B) {
		i := 0
		for b.Loop() {
			k := keys[i%n]
			v, _ := s.Get(k)
			s.Apply(k, v)
			i += 13
		}
	})
	b.Run("ApplyNew", func(b *testing.B) {
		// Fresh stores of n keys, over and over: the cost of growing.
		i := 0
		t := New()
		for b.Loop() {
			if i%n == 0 && i > 0 {
				b.StopTimer()
				t = New()
				runtime.GC()
				b.StartTimer()
			}
			t.Apply(keys[i%n], Version{Value: value, Stamp: ts(uint64(i+1), 1)})
			i++
		}
	})
}

// counterOf is a counter of slots slots, as nodes 1.. with random-looking
// generations would leave it.
func counterOf(slots, i int) Version {
	ss := make([]Slot, slots)
	for j := range ss {
		ss[j] = Slot{Node: uint16(j + 1), Gen: 0x9e3779b97f4a7c15 * uint64(j+1), Version: uint64(1000 + i + j), P: uint64(3000 + j), N: uint64(j * 100)}
	}
	return CounterAt(ss)
}

func heap() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}
