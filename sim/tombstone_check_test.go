package sim

import (
	"strings"
	"testing"
	"time"

	"github.com/memdb/memdb/linearize"
	"github.com/memdb/memdb/net"
	"github.com/memdb/memdb/node/store"
)

// write is an acknowledged set (value != "") or delete of k0, called and
// returned at the given milliseconds, at version v.
func write(call, ret int, v uint64, value string) linearize.Op {
	op := linearize.Op{Client: 1, Kind: linearize.Set, Key: "k0", Value: value, Call: time.Duration(call) * time.Millisecond,
		Return: time.Duration(ret) * time.Millisecond, Outcome: linearize.OK, Version: ts(v, 1)}
	if value == "" {
		op.Kind = linearize.Delete
	}
	return op
}

// TestCheckGraves: a node that took back a value after holding a
// tombstone above it fails the run only if the value was deleted — its
// write and a later delete both acknowledged, the delete called after the
// write returned and stamped above it; anything else is counted.
func TestCheckGraves(t *testing.T) {
	tests := []struct {
		name string
		h    linearize.History
		want string // in the reason; "" passes
	}{
		{"deleted", linearize.History{write(0, 10, 5, "v5"), write(20, 30, 9, "")}, "a deleted value came back"},
		{"delete stamped below the write", linearize.History{write(0, 10, 5, "v5"), write(20, 30, 4, "")}, ""},
		{"delete called before the write returned", linearize.History{write(0, 10, 5, "v5"), write(5, 30, 9, "")}, ""},
		{"write of unknown outcome", linearize.History{
			func() linearize.Op { op := write(0, 10, 0, "v5"); op.Outcome = linearize.Unknown; return op }(), write(20, 30, 9, ""),
		}, ""},
		{"no delete acknowledged", linearize.History{write(0, 10, 5, "v5"),
			func() linearize.Op { op := write(20, 30, 0, ""); op.Outcome = linearize.Unknown; return op }(),
		}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := &world{p: Params{Nodes: 3, RF: 3, TombstoneGrace: time.Second}, history: tc.h}
			w.graves = &graveWatch{back: []takenBack{{spot: graveSpot{2, "k0"}, value: "v5", stamp: ts(5, 1), tomb: ts(9, 1), at: time.Second}}}
			v, why := w.checkGraves()
			switch {
			case tc.want == "" && (v != Pass || w.stats.TakenBack != 1):
				t.Errorf("got %s %q, %d counted; want a pass, 1 counted", v, why, w.stats.TakenBack)
			case tc.want != "" && (v != Safety || !strings.Contains(why, tc.want)):
				t.Errorf("got %s %q, want safety with %q", v, why, tc.want)
			}
		})
	}
}

// TestCollected: in a run that drops tombstones, a read that found
// nothing passes quorum visibility against a write that a delete at or
// after it (acknowledged, or of unknown outcome) may have put behind a
// tombstone since dropped; a lost write does not; a run that keeps its
// tombstones is judged as before.
func TestCollected(t *testing.T) {
	absent := func(call, ret int) linearize.Op { return read(2, call, ret, ts(0, 0), "") }
	tests := []struct {
		name  string
		grace time.Duration
		h     linearize.History
		want  string
	}{
		{"dropped tombstone", time.Second, linearize.History{write(0, 10, 5, "v5"), write(20, 30, 9, ""), absent(40, 50)}, ""},
		{"unknown delete", time.Second, linearize.History{write(0, 10, 5, "v5"),
			func() linearize.Op { op := write(20, 30, 0, ""); op.Outcome = linearize.Unknown; return op }(), absent(40, 50)}, ""},
		{"lost write", time.Second, linearize.History{write(0, 10, 5, ""), write(20, 30, 9, "v9"), absent(40, 50)}, "quorum visibility"},
		{"tombstones kept", 0, linearize.History{write(0, 10, 5, "v5"), write(20, 30, 9, ""), absent(40, 50)}, "quorum visibility"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := &world{p: Params{Nodes: 3, RF: 3, TombstoneGrace: tc.grace, Client: ClientParams{ReadLevel: net.Quorum, WriteLevel: net.Quorum}}, history: tc.h}
			v, why := w.checkVisibility()
			switch {
			case tc.want == "" && v != Pass:
				t.Errorf("%s: %s", v, why)
			case tc.want != "" && (v != Safety || !strings.Contains(why, tc.want)):
				t.Errorf("got %s %q, want safety with %q", v, why, tc.want)
			}
		})
	}
	w := &world{p: Params{TombstoneGrace: time.Second}}
	tomb, none, live := store.RegisterAt(nil, true, ts(9, 1)), store.Version{}, store.RegisterAt([]byte("v"), false, ts(5, 1))
	if !w.sameAbsent(tomb, none) || !w.sameAbsent(none, tomb) || w.sameAbsent(tomb, live) {
		t.Errorf("sameAbsent: a tombstone and nothing must agree, a tombstone and a value must not")
	}
}

// ownerDouble is a replicaDouble whose replicas of every key are owners.
type ownerDouble struct {
	replicaDouble
	owners []uint16
}

func (o *ownerDouble) Replicas(key []byte) []uint16 { return o.owners }

// TestWatchGravesForgotten: node 1 holds a tombstone of k0 at 9.1 as a
// replica, then an older value 5.1. That is taken back if it dropped the
// tombstone as a replica (its store held nothing of k0 while it
// replicated it), and not if it forgot k0 with its arc (it held nothing
// while no replica) and the value came with the arc's return, from a
// replica that missed the delete (a leaving node's push: tombstone seed
// 3487).
func TestWatchGravesForgotten(t *testing.T) {
	for _, tc := range []struct {
		name     string
		owners   []uint16 // node 1's replicas of k0 while it holds nothing
		takeBack bool
	}{
		{"dropped as a replica", []uint16{1, 2, 3}, true},
		{"forgot with its arc", []uint16{2, 3, 4}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := &world{p: Params{Nodes: 4, RF: 3, Keys: 1, TombstoneGrace: time.Second}}
			p := &ownerDouble{replicaDouble: replicaDouble{id: 1, st: store.New()}, owners: []uint16{1, 2, 3}}
			h := &host{w: w, id: 1, up: true, proc: p}
			step := func() {
				w.now += watchEvery
				w.watchGraves(h)
			}
			p.st.Apply([]byte("k0"), store.RegisterAt(nil, true, ts(9, 1)))
			step()
			p.st.Drop([]byte("k0"))
			p.owners = tc.owners
			step()
			p.owners = []uint16{1, 2, 3}
			p.st.Apply([]byte("k0"), store.RegisterAt([]byte("v5"), false, ts(5, 1)))
			step()
			if got := len(w.graves.back) > 0; got != tc.takeBack {
				t.Errorf("taken back: %v, want %v (%+v)", got, tc.takeBack, w.graves.back)
			}
		})
	}
}
