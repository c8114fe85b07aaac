package store

import (
	"errors"
	"math"
	"slices"
	"testing"

	"pgregory.net/rapid"

	"github.com/memdb/memdb/net"
	"github.com/memdb/memdb/node/oplog"
)

// genCounter draws a counter state as a cluster makes them: each slot's
// sums are a function of its version (an owner writes one state per
// version), so two states that share a slot's version agree on it.
func genCounter() *rapid.Generator[Version] {
	return rapid.Custom(func(t *rapid.T) Version {
		var slots []Slot
		for node := uint16(1); node <= 3; node++ {
			for gen := uint64(1); gen <= 2; gen++ {
				ver := rapid.Uint64Range(0, 3).Draw(t, "version")
				if ver == 0 {
					continue
				}
				slots = append(slots, Slot{Node: node, Gen: gen, Version: ver, P: 5 * ver * uint64(node), N: ver * gen})
			}
		}
		if len(slots) == 0 {
			return Version{}
		}
		return CounterAt(slots)
	})
}

func TestCounterIncrementsAndMerges(t *testing.T) {
	a, sa, v, err := Incremented(Version{}, 1, 7, 5, 10)
	if err != nil || v != 5 {
		t.Fatalf("first increment: value %d, %v", v, err)
	}
	if a.Stamp != ts(10, 1) || sa.Stamp != ts(10, 1) || a.Kind != Counter || !a.Live() {
		t.Fatalf("state %v, slot %v", a, sa)
	}
	// Node 2 decrements from what it has (nothing of node 1's yet).
	b, sb, v, err := Incremented(Version{}, 2, 9, -3, 4)
	if err != nil || v != -3 {
		t.Fatalf("node 2: value %d, %v", v, err)
	}
	m, changed := Merge(a, sb)
	if !changed {
		t.Fatal("merging another node's slot changed nothing")
	}
	if got, _ := CounterValue(m); got != 2 {
		t.Errorf("merged value %d, want 2", got)
	}
	if m.Stamp != ts(10, 1) {
		t.Errorf("merged stamp %v, want the latest slot's", m.Stamp)
	}
	// States, not deltas: merging a slot again, or an older one, is a no-op.
	if _, changed := Merge(m, sb); changed {
		t.Error("merging a slot twice changed the state")
	}
	if _, changed := Merge(m, b); changed {
		t.Error("merging a state the counter covers changed it")
	}
	next, _, v, _ := Incremented(m, 1, 7, 1, 11)
	if v != 3 {
		t.Errorf("value after node 1's second increment: %d, want 3", v)
	}
	if _, changed := Merge(next, sa); changed {
		t.Error("an older version of a slot replaced a newer one")
	}
	// A new generation of node 1 is a new slot: the old one stays.
	g2, _, v, _ := Incremented(next, 1, 8, 10, 12)
	if slots, _ := Slots(g2); len(slots) != 3 || v != 13 {
		t.Errorf("after a new generation: %v slots, value %d", slots, v)
	}
	if _, _, _, err := Incremented(next, 1, 7, 1, 11); err == nil {
		t.Error("writing a slot at a version it already has succeeded")
	}
}

func TestCounterOverflow(t *testing.T) {
	s, _, _, err := Incremented(Version{}, 1, 1, math.MaxInt64, 1)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := Incremented(s, 1, 1, 1, 2); !errors.Is(err, ErrOverflow) {
		t.Errorf("MaxInt64 + 1: %v, want ErrOverflow", err)
	}
	if _, _, v, err := Incremented(s, 1, 1, math.MinInt64, 2); err != nil || v != -1 {
		t.Errorf("MaxInt64 + MinInt64 = %d, %v", v, err)
	}
	// Two slots each near the top: their sum leaves int64 (the 128-bit
	// sum sees it), and a slot's sums never wrap.
	two := CounterAt([]Slot{{Node: 1, Gen: 1, Version: 1, P: math.MaxInt64}, {Node: 2, Gen: 1, Version: 1, P: math.MaxInt64}})
	if _, err := CounterValue(two); !errors.Is(err, ErrOverflow) {
		t.Errorf("two MaxInt64 slots: %v, want ErrOverflow", err)
	}
	wrap := CounterAt([]Slot{{Node: 1, Gen: 1, Version: 1, P: math.MaxUint64, N: math.MaxUint64}})
	if v, err := CounterValue(wrap); err != nil || v != 0 {
		t.Errorf("P = N = MaxUint64: %d, %v", v, err)
	}
	if _, _, _, err := Incremented(wrap, 1, 1, 1, 2); !errors.Is(err, ErrOverflow) {
		t.Errorf("P past MaxUint64: %v, want ErrOverflow", err)
	}
	neg := CounterAt([]Slot{{Node: 1, Gen: 1, Version: 1, N: 1 << 63}})
	if v, err := CounterValue(neg); err != nil || v != math.MinInt64 {
		t.Errorf("N = 2^63: %d, %v", v, err)
	}
}

func TestCounterDecodeRefuses(t *testing.T) {
	good := CounterAt([]Slot{{Node: 1, Gen: 2, Version: 3, P: 4}, {Node: 2, Gen: 1, Version: 1, N: 2}})
	if err := ValidCounter(good); err != nil {
		t.Fatal(err)
	}
	swapped := Version{Kind: Counter, Value: encodeSlots([]Slot{{Node: 2, Gen: 1, Version: 1}, {Node: 1, Gen: 2, Version: 3}}), Stamp: good.Stamp}
	dup := Version{Kind: Counter, Value: encodeSlots([]Slot{{Node: 1, Gen: 2, Version: 1}, {Node: 1, Gen: 2, Version: 3}}), Stamp: good.Stamp}
	zero := Version{Kind: Counter, Value: encodeSlots([]Slot{{Node: 1, Gen: 2}}), Stamp: ts(0, 1)}
	for name, v := range map[string]Version{
		"cut":          {Kind: Counter, Value: good.Value[:len(good.Value)-1], Stamp: good.Stamp},
		"trailing":     {Kind: Counter, Value: append(slices.Clone(good.Value), 0), Stamp: good.Stamp},
		"out of order": swapped,
		"duplicate":    dup,
		"version 0":    zero,
		"wrong stamp":  {Kind: Counter, Value: good.Value, Stamp: ts(9, 9)},
		"forged count": {Kind: Counter, Value: []byte{0xff, 0xff, 0x03}, Stamp: good.Stamp},
		"empty":        {Kind: Counter, Stamp: good.Stamp},
	} {
		if err := ValidCounter(v); !errors.Is(err, ErrCounter) {
			t.Errorf("%s: ValidCounter = %v, want ErrCounter", name, err)
		}
		if err := CheckEntry(net.Entry{Key: []byte("k"), Counter: true, Value: v.Value, Stamp: v.Stamp}); err == nil {
			t.Errorf("%s: CheckEntry passed it", name)
		}
	}
}

// A counter outranks a register whatever the stamps, so a key written both
// ways converges to the counter on every replica.
func TestCounterOutranksRegister(t *testing.T) {
	c, _, _, _ := Incremented(Version{}, 1, 1, 1, 1)
	r := Version{Value: []byte("late"), Stamp: ts(100, 2)}
	if m, _ := Merge(c, r); m.Kind != Counter {
		t.Errorf("counter then a later register: %v", m.Kind)
	}
	if m, _ := Merge(r, c); m.Kind != Counter {
		t.Errorf("register then an earlier counter: %v", m.Kind)
	}
	if Hash([]byte("k"), c) == Hash([]byte("k"), Version{Value: c.Value, Stamp: c.Stamp}) {
		t.Error("a counter hashes as a register with the same bytes")
	}
}

func TestCounterEncodings(t *testing.T) {
	c := CounterAt([]Slot{{Node: 2, Gen: 5, Version: 9, P: 3, N: 1}, {Node: 1, Gen: 5, Version: 4, P: 7}})
	e := Entry([]byte("k"), c)
	if !e.Counter || e.Deleted {
		t.Fatalf("entry %+v", e)
	}
	if err := CheckEntry(e); err != nil {
		t.Fatal(err)
	}
	if got := FromEntry(e); got.Kind != Counter || got.Stamp != c.Stamp || string(got.Value) != string(c.Value) {
		t.Errorf("entry round trip: %v", got)
	}
	r := TaggedRecord([]byte("k"), c, []byte("tag"))
	if r.Type != oplog.TypeCounter || r.Origin != 2 || r.Seq != 9 {
		t.Errorf("record %v origin %d seq %d", r.Type, r.Origin, r.Seq)
	}
	got, tag, err := FromRecord(r)
	if err != nil || string(tag) != "tag" || string(got.Value) != string(c.Value) || got.Stamp != c.Stamp {
		t.Errorf("record round trip: %v %q %v", got, tag, err)
	}
	bad := r
	bad.Value = append(slices.Clone(r.Value), 1)
	if _, _, err := FromRecord(bad); err == nil {
		t.Error("a corrupt counter record decoded")
	}
	if s, ok := PeerAnswer([]byte("k"), c).(*net.State); !ok {
		t.Errorf("a peer read of a counter answers %T", PeerAnswer([]byte("k"), c))
	} else if v, err := FromAnswer(s); err != nil || v.Stamp != c.Stamp {
		t.Errorf("state round trip: %v %v", v, err)
	}
	if m, ok := ReadAnswer(c, false).(*net.Error); !ok || m.Code != net.CodeWrongKind {
		t.Errorf("a get of a counter answers %v", ReadAnswer(c, false))
	}
	if m, ok := CounterAnswer(c).(*net.CounterValue); !ok || m.Value != 9 {
		t.Errorf("a counter read answers %v", CounterAnswer(c))
	}
	if m, ok := CounterAnswer(Version{Value: []byte("x"), Stamp: ts(1, 1)}).(*net.Error); !ok || m.Code != net.CodeWrongKind {
		t.Errorf("a counter read of a value answers %v", m)
	}
	if m, ok := CounterAnswer(Version{}).(*net.CounterValue); !ok || m.Value != 0 {
		t.Errorf("a counter read of nothing answers %v", m)
	}
}

func TestCounterSeen(t *testing.T) {
	c := CounterAt([]Slot{{Node: 2, Gen: 5, Version: 9}, {Node: 1, Gen: 5, Version: 4}})
	for _, tt := range []struct {
		marks map[uint16]uint64
		want  bool
	}{
		{map[uint16]uint64{1: 4, 2: 9}, true},
		{map[uint16]uint64{1: 3, 2: 20}, false}, // the stamp's origin is seen, another slot's is not
		{map[uint16]uint64{2: 9}, false},
		{map[uint16]uint64{1: 100, 2: 8}, false},
	} {
		if got := Seen(c, tt.marks); got != tt.want {
			t.Errorf("Seen(%v) = %v, want %v", tt.marks, got, tt.want)
		}
	}
}
