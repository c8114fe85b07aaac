package ring

import (
	"testing"
)

// hand is a small ring whose replicas can be worked out by hand:
//
//	token: 100  200  300  400
//	node:    1    2    3    1
func hand(t testing.TB) Ring {
	t.Helper()
	return mustNew(t, 7, []Member{{1, []uint64{400, 100}}, {2, []uint64{200}}, {3, []uint64{300}}})
}

// fataler is what mustNew needs of a *testing.T or a *rapid.T.
type fataler interface {
	Helper()
	Fatalf(format string, args ...any)
}

func mustNew(t fataler, epoch uint64, ms []Member) Ring {
	t.Helper()
	r, err := New(epoch, ms)
	if err != nil {
		t.Fatalf("New(%d, %v): %v", epoch, ms, err)
	}
	return r
}

// virtualRing is nodes 1..n with vnodes virtual tokens each.
func virtualRing(t testing.TB, n, vnodes int) Ring {
	t.Helper()
	ids := make([]uint16, n)
	for i := range ids {
		ids[i] = uint16(i + 1)
	}
	return mustNew(t, 1, Virtual(ids, vnodes))
}
