package ring

import (
	"fmt"
	"strconv"
	"testing"
)

// BenchmarkReplicas is the per-request cost of placement: hashing a key and
// walking to its rf replicas.
func BenchmarkReplicas(b *testing.B) {
	keys := make([][]byte, 1024)
	for i := range keys {
		keys[i] = []byte("user:" + strconv.Itoa(i*7919))
	}
	for _, n := range []int{5, 64} {
		for _, v := range []int{64, 256} {
			r := virtualRing(b, n, v)
			b.Run(fmt.Sprintf("nodes=%d/vnodes=%d/rf=3", n, v), func(b *testing.B) {
				b.ReportAllocs()
				for i := 0; b.Loop(); i++ {
					_ = r.Replicas(keys[i%len(keys)], 3)
				}
			})
		}
	}
	r := virtualRing(b, 64, 256)
	hashes := keyHashes(1024)
	b.Run("AppendReplicasOf/nodes=64/vnodes=256/rf=3", func(b *testing.B) {
		b.ReportAllocs()
		buf := make([]uint16, 0, 3)
		for i := 0; b.Loop(); i++ {
			buf = r.AppendReplicasOf(buf[:0], hashes[i%len(hashes)], 3)
		}
	})
	b.Run("Hash", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			_ = Hash(keys[i%len(keys)])
		}
	})
}

func BenchmarkNew(b *testing.B) {
	ms := virtualRing(b, 64, 256).Members()
	for b.Loop() {
		if _, err := New(1, ms); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncodeDecode(b *testing.B) {
	r := virtualRing(b, 64, 256)
	enc := r.Encode()
	b.Run("Encode/nodes=64/vnodes=256", func(b *testing.B) {
		for b.Loop() {
			_ = r.Encode()
		}
	})
	b.Run("Decode/nodes=64/vnodes=256", func(b *testing.B) {
		for b.Loop() {
			if _, err := Decode(enc); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkMoves is planning a join: the 64th node joining 63.
func BenchmarkMoves(b *testing.B) {
	old := virtualRing(b, 63, 256)
	joined, err := old.With(Member{64, VirtualTokens(64, 256)})
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		_ = Moves(old, joined, 3)
	}
}
