package ring

import (
	"math"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestReplicasOf(t *testing.T) {
	r := hand(t) // tokens 100:1 200:2 300:3 400:1
	tests := []struct {
		h    uint64
		rf   int
		want []uint16
	}{
		{0, 3, []uint16{1, 2, 3}},
		{100, 3, []uint16{1, 2, 3}}, // a token's own position is in the range it ends
		{101, 3, []uint16{2, 3, 1}},
		{250, 3, []uint16{3, 1, 2}}, // 300:3, 400:1, 100:1 again (skipped), 200:2
		{350, 3, []uint16{1, 2, 3}}, // 400:1, wraps to 100:1 (skipped)
		{401, 3, []uint16{1, 2, 3}}, // past the last token wraps to the first
		{math.MaxUint64, 3, []uint16{1, 2, 3}},
		{150, 1, []uint16{2}},
		{150, 2, []uint16{2, 3}},
		{150, 5, []uint16{2, 3, 1}}, // only three nodes
		{150, 0, nil},
		{150, -1, nil},
	}
	for _, tt := range tests {
		if diff := cmp.Diff(tt.want, r.ReplicasOf(tt.h, tt.rf)); diff != "" {
			t.Errorf("ReplicasOf(%d, %d) (-want +got):\n%s", tt.h, tt.rf, diff)
		}
	}
}

func TestReplicasByKey(t *testing.T) {
	r := virtualRing(t, 5, 16)
	for _, key := range []string{"", "a", "user:42", "\x00\xff"} {
		h := Hash([]byte(key))
		got := r.Replicas([]byte(key), 3)
		if diff := cmp.Diff(r.ReplicasOf(h, 3), got); diff != "" {
			t.Errorf("Replicas(%q) differs from ReplicasOf(Hash) (-want +got):\n%s", key, diff)
		}
		if owner, ok := r.Owner([]byte(key)); !ok || owner != got[0] {
			t.Errorf("Owner(%q) = %d, %v; want %d", key, owner, ok, got[0])
		}
	}
	buf := make([]uint16, 1, 8)
	buf[0] = 99
	got := r.AppendReplicasOf(buf, 12345, 3)
	if diff := cmp.Diff(append([]uint16{99}, r.ReplicasOf(12345, 3)...), got); diff != "" {
		t.Errorf("AppendReplicasOf did not append (-want +got):\n%s", diff)
	}
}
