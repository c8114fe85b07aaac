package sim

import (
	"strings"
	"testing"
	"time"

	"github.com/memdb/memdb/clock"
	"github.com/memdb/memdb/linearize"
	"github.com/memdb/memdb/net"
	"github.com/memdb/memdb/node/store"
)

func ts(c uint64, n uint16) clock.Timestamp { return clock.Timestamp{Counter: c, Node: n} }

// read is an answered plain read of k0 in milliseconds, at version v.
func read(client int, call, ret int, v clock.Timestamp, value string) linearize.Op {
	return linearize.Op{Client: client, Kind: linearize.Get, Key: "k0", Call: time.Duration(call) * time.Millisecond,
		Return: time.Duration(ret) * time.Millisecond, Outcome: linearize.OK, Found: value != "", Output: value, Version: v}
}

// TestCheckMonotonicReads on hand-made histories: bug 32's shape (a read
// answers 8, held by one replica; a later read answers the older 5) fails
// at quorum and passes where read quorums need not meet.
func TestCheckMonotonicReads(t *testing.T) {
	tests := []struct {
		name  string
		level net.Consistency
		h     linearize.History
		want  string // in the reason; "" passes
	}{
		{"later read older (bug 32)", net.Quorum, linearize.History{
			read(1, 0, 10, ts(8, 3), "v8"), read(2, 20, 30, ts(5, 1), "v5"),
		}, "monotonic reads"},
		{"later read same or newer", net.Quorum, linearize.History{
			read(1, 0, 10, ts(5, 1), "v5"), read(2, 20, 30, ts(5, 1), "v5"), read(1, 40, 50, ts(9, 2), "v9"),
		}, ""},
		{"overlapping reads may differ", net.Quorum, linearize.History{
			read(1, 0, 10, ts(8, 3), "v8"), read(2, 5, 30, ts(5, 1), "v5"),
		}, ""},
		{"a tombstone is a version too", net.All, linearize.History{
			read(1, 0, 10, ts(8, 3), ""), read(2, 20, 30, ts(5, 1), "v5"),
		}, "monotonic reads"},
		{"level one promises nothing", net.One, linearize.History{
			read(1, 0, 10, ts(8, 3), "v8"), read(2, 20, 30, ts(5, 1), "v5"),
		}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := &world{p: Params{Nodes: 3, RF: 3, Client: ClientParams{ReadLevel: tc.level, WriteLevel: net.Quorum}}, history: tc.h}
			v, why := w.checkMonotonicReads()
			switch {
			case tc.want == "" && v != Pass:
				t.Errorf("%s: %s", v, why)
			case tc.want != "" && (v != Safety || !strings.Contains(why, tc.want)):
				t.Errorf("got %s %q, want safety with %q", v, why, tc.want)
			}
		})
	}
}

// TestBehind: the state at rest must be no older than the latest
// acknowledged write or delete; a value older than an acknowledged delete
// is a resurrection.
func TestBehind(t *testing.T) {
	set := &linearize.Op{Kind: linearize.Set, Key: "k0", Value: "v7", Outcome: linearize.OK, Version: ts(7, 2)}
	del := &linearize.Op{Kind: linearize.Delete, Key: "k0", Outcome: linearize.OK, Version: ts(9, 1)}
	tests := []struct {
		name   string
		v      store.Version
		latest *linearize.Op
		want   string
	}{
		{"holds it", store.RegisterAt([]byte("v7"), false, ts(7, 2)), set, ""},
		{"holds a later one", store.RegisterAt([]byte("v8"), false, ts(8, 1)), set, ""},
		{"nothing acknowledged", store.Version{}, nil, ""},
		{"lost", store.RegisterAt([]byte("v6"), false, ts(6, 3)), set, "lost it"},
		{"lost to nothing", store.Version{}, set, "lost it"},
		{"resurrected", store.RegisterAt([]byte("v7"), false, ts(7, 2)), del, "brought the deleted value back"},
		{"the tombstone", store.RegisterAt(nil, true, ts(9, 1)), del, ""},
	}
	for _, tc := range tests {
		got := behind("k0", tc.v, tc.latest)
		if (tc.want == "") != (got == "") || !strings.Contains(got, tc.want) {
			t.Errorf("%s: behind = %q, want %q", tc.name, got, tc.want)
		}
	}
}

// TestLostAtRestart: a replayed store must cover, key by key, what the
// store held at the crash.
func TestLostAtRestart(t *testing.T) {
	before := store.New()
	before.Apply([]byte("k0"), store.RegisterAt([]byte("a"), false, ts(3, 1)))
	before.Apply([]byte("k1"), store.RegisterAt(nil, true, ts(4, 2)))
	snap := durableAtCrash(before)

	good := store.New()
	good.Apply([]byte("k0"), store.RegisterAt([]byte("b"), false, ts(5, 1)))
	good.Apply([]byte("k1"), store.RegisterAt(nil, true, ts(4, 2)))
	good.Apply([]byte("k2"), store.RegisterAt([]byte("c"), false, ts(1, 1)))
	if k, was, now, lost := lostAtRestart(snap, good); lost {
		t.Errorf("a store that covers the crash's: lost %q (%v → %v)", k, was, now)
	}
	bad := store.New()
	bad.Apply([]byte("k0"), store.RegisterAt([]byte("a"), false, ts(3, 1)))
	// k1's tombstone did not come back: the deleted value may.
	if k, _, _, lost := lostAtRestart(snap, bad); !lost || k != "k1" {
		t.Errorf("a store without k1's tombstone: lost %q, %t; want k1", k, lost)
	}
	older := store.New()
	older.Apply([]byte("k0"), store.RegisterAt([]byte("z"), false, ts(2, 9)))
	older.Apply([]byte("k1"), store.RegisterAt(nil, true, ts(4, 2)))
	if k, _, _, lost := lostAtRestart(snap, older); !lost || k != "k0" {
		t.Errorf("a store with an older k0: lost %q, %t; want k0", k, lost)
	}
}

// TestCheckSessions: a client's acknowledged write must be stamped after
// every version its earlier answers carried.
func TestCheckSessions(t *testing.T) {
	write := func(call, ret int, v clock.Timestamp) linearize.Op {
		return linearize.Op{Client: 1, Kind: linearize.Set, Key: "k0", Value: "w", Call: time.Duration(call) * time.Millisecond,
			Return: time.Duration(ret) * time.Millisecond, Outcome: linearize.OK, Version: v}
	}
	tests := []struct {
		name string
		h    linearize.History
		want string
	}{
		{"write after what it read", linearize.History{read(1, 0, 10, ts(50, 2), "v"), write(20, 30, ts(51, 3))}, ""},
		{"write below what it read", linearize.History{read(1, 0, 10, ts(50, 2), "v"), write(20, 30, ts(40, 3))}, "session"},
		{"write below its own earlier write", linearize.History{write(0, 10, ts(50, 2)), write(20, 30, ts(49, 3))}, "session"},
		{"another client's read binds nothing", linearize.History{read(2, 0, 10, ts(50, 2), "v"), write(20, 30, ts(40, 3))}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := &world{p: Params{Nodes: 3, RF: 3}, history: tc.h}
			v, why := w.checkSessions()
			switch {
			case tc.want == "" && v != Pass:
				t.Errorf("%s: %s", v, why)
			case tc.want != "" && (v != Safety || !strings.Contains(why, tc.want)):
				t.Errorf("got %s %q, want safety with %q", v, why, tc.want)
			}
		})
	}
}
