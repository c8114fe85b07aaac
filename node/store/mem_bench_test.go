package store

import (
	"fmt"
	"runtime"
	"testing"
)

// BenchmarkMemoryPerKey reports the heap a store holds per key: counters
// with 1, 3 and 10 slots (their values in the low thousands, as after
// some use), and registers with an 8-byte value for comparison. Keys are
// 16 bytes. It is a measurement for PAPER, not a test:
//
//	go test ./node/store -run '^$' -bench MemoryPerKey -benchtime 1x
func BenchmarkMemoryPerKey(b *testing.B) {
	const n = 200_000
	key := func(i int) []byte { return fmt.Appendf(nil, "counter:%08d", i) }
	for _, tc := range []struct {
		name  string
		state func(i int) Version
	}{
		{"register-8B", func(i int) Version { return Version{Value: []byte("12345678"), Stamp: ts(uint64(i+1), 1)} }},
		{"counter-1-slot", func(i int) Version { return counterOf(1, i) }},
		{"counter-3-slots", func(i int) Version { return counterOf(3, i) }},
		{"counter-10-slots", func(i int) Version { return counterOf(10, i) }},
	} {
		b.Run(tc.name, func(b *testing.B) {
			for range b.N {
				before := heap()
				s := New()
				for i := range n {
					s.Apply(key(i), tc.state(i))
				}
				s.Keys()
				after := heap()
				runtime.KeepAlive(s)
				b.ReportMetric(float64(after-before)/n, "heap-B/key")
				b.ReportMetric(float64(s.Bytes())/n, "store-B/key")
			}
		})
	}
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
