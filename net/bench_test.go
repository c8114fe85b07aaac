package net

import (
	"bytes"
	"testing"

	"github.com/memdb/memdb/clock"
)

// Run with: go test -run='^$' -bench=. -benchmem ./net

var benchClock = clock.Timestamp{Counter: 1 << 40, Node: 3}

func benchFrames() []struct {
	name string
	f    Frame
} {
	return []struct {
		name string
		f    Frame
	}{
		{"Get", Frame{ID: 12345, Clock: benchClock, Msg: &Get{Level: Quorum, Key: []byte("user:000012345")}}},
		{"Set100", Frame{ID: 12345, Clock: benchClock, Msg: &Set{Level: Quorum, Key: []byte("user:000012345"), Value: bytes.Repeat([]byte{'v'}, 100)}}},
	}
}

// BenchmarkEncode appends into a reused buffer, as a connection's writer
// does.
func BenchmarkEncode(b *testing.B) {
	for _, bf := range benchFrames() {
		b.Run(bf.name, func(b *testing.B) {
			buf := Encode(bf.f)
			b.SetBytes(int64(len(buf)))
			b.ReportAllocs()
			for b.Loop() {
				buf = AppendFrame(buf[:0], bf.f)
			}
		})
	}
}

func BenchmarkDecode(b *testing.B) {
	for _, bf := range benchFrames() {
		b.Run(bf.name, func(b *testing.B) {
			buf := Encode(bf.f)
			b.SetBytes(int64(len(buf)))
			b.ReportAllocs()
			for b.Loop() {
				if _, _, err := Decode(buf); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
