package sim

import (
	"strings"
	"testing"
	"time"

	"github.com/memdb/memdb/linearize"
)

// checkMutex on hand-made lock histories: two holds that overlap are a
// violation; a read of the client's own value after a release of unknown
// outcome is no hold (the release may still land), but after a take of
// unknown outcome it is.
func TestCheckMutex(t *testing.T) {
	ms := time.Millisecond
	take := func(c int, v string, call, ret time.Duration, out linearize.Outcome) linearize.Op {
		return linearize.Op{Client: c, Kind: linearize.Cas, Key: lockKey, Old: "free/x", Value: v, Call: call, Return: ret, Outcome: out, Found: out == linearize.OK}
	}
	release := func(c int, old, v string, call, ret time.Duration, out linearize.Outcome) linearize.Op {
		return linearize.Op{Client: c, Kind: linearize.Cas, Key: lockKey, Old: old, Value: v, Call: call, Return: ret, Outcome: out, Found: out == linearize.OK}
	}
	read := func(c int, v string, call, ret time.Duration) linearize.Op {
		return linearize.Op{Client: c, Kind: linearize.Get, Key: lockKey, Output: v, Found: true, Call: call, Return: ret, Outcome: linearize.OK}
	}
	tests := []struct {
		name string
		h    []linearize.Op
		want Verdict
	}{
		{"one after another", []linearize.Op{
			take(1, "held/c1.1", 0, 1*ms, linearize.OK), release(1, "held/c1.1", "free/c1.2", 2*ms, 3*ms, linearize.OK),
			take(2, "held/c2.1", 4*ms, 5*ms, linearize.OK),
		}, Pass},
		{"two holders", []linearize.Op{
			take(1, "held/c1.1", 0, 1*ms, linearize.OK),
			take(2, "held/c2.1", 2*ms, 3*ms, linearize.OK), release(1, "held/c1.1", "free/c1.2", 4*ms, 5*ms, linearize.OK),
		}, Safety},
		{"unknown take then own value read", []linearize.Op{
			take(1, "held/c1.1", 0, 1*ms, linearize.Unknown), read(1, "held/c1.1", 2*ms, 3*ms),
			take(2, "held/c2.1", 4*ms, 5*ms, linearize.OK),
		}, Safety},
		{"unknown release then own value read", []linearize.Op{
			take(1, "held/c1.1", 0, 1*ms, linearize.OK), release(1, "held/c1.1", "free/c1.2", 2*ms, 3*ms, linearize.Unknown),
			read(1, "held/c1.1", 4*ms, 5*ms), take(2, "held/c2.1", 6*ms, 7*ms, linearize.OK),
		}, Pass},
	}
	for _, tc := range tests {
		w := &world{history: tc.h}
		got, why := w.checkMutex()
		if got != tc.want {
			t.Errorf("%s: verdict %v (%s), want %v", tc.name, got, why, tc.want)
		}
		if got == Safety && !strings.Contains(why, "mutual exclusion") {
			t.Errorf("%s: reason %q does not name mutual exclusion", tc.name, why)
		}
	}
}

// A Lock client's loop: a read of its own held value, in any state, sends
// it to release the lock (its take happened, perhaps one it had given up
// on, or its release has not); a free or absent lock is to be taken;
// anyone else's value means wait.
func TestNextLockState(t *testing.T) {
	get := func(out string, found bool) *linearize.Op {
		return &linearize.Op{Client: 2, Kind: linearize.Get, Key: lockKey, Output: out, Found: found, Outcome: linearize.OK}
	}
	cas := func(swapped bool) *linearize.Op {
		return &linearize.Op{Client: 2, Kind: linearize.Cas, Key: lockKey, Found: swapped, Outcome: linearize.OK}
	}
	tests := []struct {
		from lockState
		op   *linearize.Op
		want lockState
	}{
		{lockIdle, get("held/c2.7", true), lockHeld},
		{lockUnknown, get("held/c2.7", true), lockHeld},
		{lockIdle, get("held/c3.7", true), lockIdle},
		{lockUnknown, get("held/c3.7", true), lockIdle},
		{lockIdle, get("free/c3.8", true), lockFree},
		{lockUnknown, get("", false), lockFree},
		{lockFree, cas(true), lockHeld},
		{lockFree, cas(false), lockIdle},
		{lockHeld, cas(true), lockIdle},
	}
	for _, tc := range tests {
		if got := nextLockState(tc.from, tc.op); got != tc.want {
			t.Errorf("nextLockState(%d, %v) = %d, want %d", tc.from, *tc.op, got, tc.want)
		}
	}
}
