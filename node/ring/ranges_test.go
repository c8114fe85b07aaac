package ring

import (
	"math"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestRangeContains(t *testing.T) {
	tests := []struct {
		g    Range
		h    uint64
		want bool
	}{
		{Range{10, 20}, 10, false}, // start is exclusive
		{Range{10, 20}, 11, true},
		{Range{10, 20}, 20, true}, // end is inclusive
		{Range{10, 20}, 21, false},
		{Range{20, 10}, 21, true}, // wraps
		{Range{20, 10}, math.MaxUint64, true},
		{Range{20, 10}, 0, true},
		{Range{20, 10}, 10, true},
		{Range{20, 10}, 15, false},
		{Range{20, 10}, 20, false},
		{Range{5, 5}, 5, true}, // the whole ring
		{Range{5, 5}, 0, true},
	}
	for _, tt := range tests {
		if got := tt.g.Contains(tt.h); got != tt.want {
			t.Errorf("%v.Contains(%d) = %v, want %v", tt.g, tt.h, got, tt.want)
		}
	}
}

func TestRanges(t *testing.T) {
	r := hand(t) // tokens 100:1 200:2 300:3 400:1
	// Replicas of the range ending at each token, rf 2:
	// 100: 1 2, 200: 2 3, 300: 3 1, 400: 1 2.
	tests := []struct {
		id   uint16
		rf   int
		want []Range
	}{
		{1, 1, []Range{{300, 100}}}, // (300,400] and (400,100] merge across the top
		{2, 1, []Range{{100, 200}}},
		{3, 1, []Range{{200, 300}}},
		{1, 2, []Range{{200, 100}}},
		{2, 2, []Range{{300, 200}}},
		{3, 2, []Range{{100, 300}}},
		{1, 3, []Range{{400, 400}}}, // the whole ring
		{9, 1, nil},
		{1, 0, nil},
	}
	for _, tt := range tests {
		if diff := cmp.Diff(tt.want, r.Ranges(tt.id, tt.rf)); diff != "" {
			t.Errorf("Ranges(%d, %d) (-want +got):\n%s", tt.id, tt.rf, diff)
		}
	}

	// Ranges split where the node's run is interrupted, ordered by End.
	split := mustNew(t, 1, []Member{{1, []uint64{100, 300}}, {2, []uint64{200, 400}}})
	if diff := cmp.Diff([]Range{{400, 100}, {200, 300}}, split.Ranges(1, 1)); diff != "" {
		t.Errorf("split Ranges(1, 1) (-want +got):\n%s", diff)
	}
	one := mustNew(t, 1, []Member{{4, []uint64{42}}})
	if diff := cmp.Diff([]Range{{42, 42}}, one.Ranges(4, 3)); diff != "" {
		t.Errorf("one-token Ranges (-want +got):\n%s", diff)
	}
}

func TestMoves(t *testing.T) {
	r := hand(t) // tokens 100:1 200:2 300:3 400:1
	joined, err := r.With(Member{4, []uint64{250}})
	if err != nil {
		t.Fatal(err)
	}
	left, err := r.Without(1)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		old, new Ring
		rf       int
		want     []Move
	}{
		{"join rf1", r, joined, 1, []Move{{Range{200, 250}, []uint16{3}, []uint16{4}}}},
		{"join rf2", r, joined, 2, []Move{
			{Range{100, 200}, []uint16{2, 3}, []uint16{2, 4}},
			{Range{200, 250}, []uint16{1, 3}, []uint16{3, 4}},
		}},
		// Joined: 100:1 200:2 250:4 300:3 400:1. The ranges ending at 400
		// and 100 both become 1 2 4 and merge across the top of the ring.
		{"join rf3", r, joined, 3, []Move{
			{Range{300, 100}, []uint16{1, 2, 3}, []uint16{1, 2, 4}},
			{Range{100, 200}, []uint16{1, 2, 3}, []uint16{2, 3, 4}},
			{Range{200, 250}, []uint16{1, 2, 3}, []uint16{1, 3, 4}},
		}},
		// Node 1's two ranges, (300,400] and (400,100], go to node 2 and
		// merge across the top of the ring.
		{"leave rf1", r, left, 1, []Move{{Range{300, 100}, []uint16{1}, []uint16{2}}}},
		{"no change", r, mustNew(t, 99, r.Members()), 3, nil},
		{"from empty", Ring{}, r, 1, []Move{
			{Range{300, 100}, nil, []uint16{1}},
			{Range{100, 200}, nil, []uint16{2}},
			{Range{200, 300}, nil, []uint16{3}},
		}},
		{"to empty", r, Ring{}, 5, []Move{{Range{400, 400}, []uint16{1, 2, 3}, nil}}},
		{"both empty", Ring{}, Ring{}, 3, nil},
		{"rf 0", r, joined, 0, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Moves(tt.old, tt.new, tt.rf)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Moves(%v, %v, %d) (-want +got):\n%s", tt.old, tt.new, tt.rf, diff)
			}
		})
	}

	m := Move{Range{1, 2}, []uint16{1, 2, 3}, []uint16{2, 4, 5}}
	if diff := cmp.Diff([]uint16{4, 5}, m.Gained()); diff != "" {
		t.Errorf("Gained (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]uint16{1, 3}, m.Lost()); diff != "" {
		t.Errorf("Lost (-want +got):\n%s", diff)
	}
}
