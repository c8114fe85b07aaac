package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/bits"
	"slices"

	"github.com/memdb/memdb/clock"
)

// Counter is a distributed counter: a set of slots, one per writer. A slot
// is owned by one node in one log generation (a data directory's life:
// a node that lost its disk writes a new slot, never an old one), and
// only its owner writes it; its state is (version, P, N), the version a
// Lamport counter of the owner's, P and N the sums of the owner's
// increments and decrements. Two states of a counter merge slot by slot,
// the higher version winning, so replicas exchange slot states, never
// deltas, and applying one twice or out of order changes nothing. The
// counter's value is Σ(P − N) over its slots.
//
// A counter outranks a register: a key once incremented stays a counter
// whatever register writes it meets (Merge), so replicas that saw a set
// and an increment of one key in different orders agree.
const Counter Kind = 1

// A Slot is one writer's part of a counter.
type Slot struct {
	Node    uint16 // the owner
	Gen     uint64 // the owner's log generation
	Version uint64 // the Lamport counter of the owner's last write of it
	P, N    uint64 // the sums of its increments and of its decrements
}

// id orders slots: by owner, then generation.
func (s Slot) before(o Slot) bool {
	return s.Node < o.Node || s.Node == o.Node && s.Gen < o.Gen
}

// ErrCounter is wrapped by the errors of counter states that do not decode.
var ErrCounter = errors.New("bad counter state")

// maxSlots bounds the slots a state may hold: one per node and generation
// that ever wrote the counter. A node id is 16 bits; generations of one
// node are rare.
const maxSlots = 1 << 16

// CounterAt is a counter's state holding slots (in any order, one per id).
// Its stamp is the latest slot's version.
func CounterAt(slots []Slot) Version {
	slots = slices.Clone(slots)
	slices.SortFunc(slots, func(a, b Slot) int {
		switch {
		case a.before(b):
			return -1
		case b.before(a):
			return 1
		}
		return 0
	})
	return Version{Kind: Counter, Value: encodeSlots(slots), Stamp: latest(slots)}
}

// latest is the stamp of the latest write among slots: the highest version,
// ties broken by owner as Lamport stamps are.
func latest(slots []Slot) clock.Timestamp {
	var t clock.Timestamp
	for _, s := range slots {
		t = t.Max(clock.Timestamp{Counter: s.Version, Node: s.Node})
	}
	return t
}

// encodeSlots is the bytes of a counter's state: uvarint count, then each
// slot in id order: node (2 bytes, big-endian), generation (8), version,
// P and N (uvarints).
func encodeSlots(slots []Slot) []byte {
	b := binary.AppendUvarint(make([]byte, 0, 1+len(slots)*16), uint64(len(slots)))
	for _, s := range slots {
		b = binary.BigEndian.AppendUint16(b, s.Node)
		b = binary.BigEndian.AppendUint64(b, s.Gen)
		b = binary.AppendUvarint(b, s.Version)
		b = binary.AppendUvarint(b, s.P)
		b = binary.AppendUvarint(b, s.N)
	}
	return b
}

// Slots decodes a counter's state. The encoding is canonical: slots in
// strictly increasing id order, versions nonzero, nothing after the last.
func Slots(v Version) ([]Slot, error) {
	if v.Kind != Counter {
		return nil, fmt.Errorf("%w: a %v is not a counter", ErrCounter, v.Kind)
	}
	b := v.Value
	n, k := binary.Uvarint(b)
	if k <= 0 || n > maxSlots || n > uint64(len(b)) {
		return nil, fmt.Errorf("%w: slot count", ErrCounter)
	}
	b = b[k:]
	slots := make([]Slot, 0, n)
	for i := range n {
		if len(b) < 10 {
			return nil, fmt.Errorf("%w: slot %d is cut short", ErrCounter, i)
		}
		s := Slot{Node: binary.BigEndian.Uint16(b), Gen: binary.BigEndian.Uint64(b[2:])}
		b = b[10:]
		for _, f := range []*uint64{&s.Version, &s.P, &s.N} {
			x, k := binary.Uvarint(b)
			if k <= 0 {
				return nil, fmt.Errorf("%w: slot %d is cut short", ErrCounter, i)
			}
			*f, b = x, b[k:]
		}
		if s.Version == 0 {
			return nil, fmt.Errorf("%w: slot %d has version 0", ErrCounter, i)
		}
		if len(slots) > 0 && !slots[len(slots)-1].before(s) {
			return nil, fmt.Errorf("%w: slot %d is out of order", ErrCounter, i)
		}
		slots = append(slots, s)
	}
	if len(b) != 0 {
		return nil, fmt.Errorf("%w: %d bytes after the last slot", ErrCounter, len(b))
	}
	return slots, nil
}

// ValidCounter reports whether v is a counter state that decodes, with the
// stamp its slots give it: what a node checks of a state it did not make.
func ValidCounter(v Version) error {
	slots, err := Slots(v)
	if err != nil {
		return err
	}
	if latest(slots) != v.Stamp {
		return fmt.Errorf("%w: stamp %v is not its latest slot's", ErrCounter, v.Stamp)
	}
	return nil
}

// ErrOverflow is returned for a counter whose value leaves int64.
var ErrOverflow = errors.New("counter overflow: the value would leave the range of a signed 64-bit integer")

// Total is the value of slots: Σ(P − N), or ErrOverflow if it is not an
// int64. It is summed in 128 bits, so no order of the slots overflows on
// the way.
func Total(slots []Slot) (int64, error) {
	var hi, lo uint64 // a two's complement 128-bit sum
	add := func(x uint64, neg bool) {
		var c uint64
		if neg {
			// Subtract x: add its 128-bit two's complement.
			nlo, b := bits.Sub64(0, x, 0)
			nhi, _ := bits.Sub64(0, 0, b)
			lo, c = bits.Add64(lo, nlo, 0)
			hi, _ = bits.Add64(hi, nhi, c)
			return
		}
		lo, c = bits.Add64(lo, x, 0)
		hi += c
	}
	for _, s := range slots {
		add(s.P, false)
		add(s.N, true)
	}
	// In range iff the high word is the sign extension of the low one.
	if (hi == 0 && lo <= math.MaxInt64) || (hi == math.MaxUint64 && lo > math.MaxInt64) {
		return int64(lo), nil
	}
	return 0, ErrOverflow
}

// Incremented is the state of the counter at cur (the zero Version or a
// counter) after slot id (node, gen) adds delta at version ver: the slot's
// P or N grows by |delta|, its version becomes ver. It returns the new
// state, the slot alone (what the owner sends its replicas) and the
// counter's value after; ErrOverflow, with nothing changed, if the value or
// the slot's sums would leave their ranges. ver must be above the slot's
// version: the owner stamps it.
func Incremented(cur Version, node uint16, gen uint64, delta int64, ver uint64) (next, slot Version, value int64, err error) {
	var slots []Slot
	if cur.Kind == Counter && !cur.Stamp.IsZero() {
		if slots, err = Slots(cur); err != nil {
			return Version{}, Version{}, 0, err
		}
	}
	i := slices.IndexFunc(slots, func(s Slot) bool { return s.Node == node && s.Gen == gen })
	if i < 0 {
		slots = append(slots, Slot{Node: node, Gen: gen})
		i = len(slots) - 1
	}
	s := slots[i]
	if ver <= s.Version {
		return Version{}, Version{}, 0, fmt.Errorf("%w: slot %d/%x at version %d cannot be written at %d", ErrCounter, node, gen, s.Version, ver)
	}
	mag := uint64(delta)
	if delta < 0 {
		mag = -mag
	}
	sum := &s.P
	if delta < 0 {
		sum = &s.N
	}
	if *sum+mag < *sum {
		return Version{}, Version{}, 0, ErrOverflow
	}
	*sum += mag
	s.Version = ver
	slots[i] = s
	if value, err = Total(slots); err != nil {
		return Version{}, Version{}, 0, err
	}
	return CounterAt(slots), CounterAt([]Slot{s}), value, nil
}

// CounterValue is the value of a counter state: 0 for the zero Version (a
// key never incremented).
func CounterValue(v Version) (int64, error) {
	if v.Stamp.IsZero() {
		return 0, nil
	}
	slots, err := Slots(v)
	if err != nil {
		return 0, err
	}
	return Total(slots)
}

// mergeCounter keeps, slot by slot, the higher version. States that do not
// decode never reach the store (ValidCounter guards what arrives), so one
// here is a bug.
func mergeCounter(cur, next Version) (Version, bool) {
	a, err := Slots(cur)
	if err != nil {
		panic(fmt.Sprintf("store: merging a counter state that does not decode: %v", err))
	}
	b, err := Slots(next)
	if err != nil {
		panic(fmt.Sprintf("store: merging a counter state that does not decode: %v", err))
	}
	out := make([]Slot, 0, max(len(a), len(b)))
	changed := false
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		switch {
		case j == len(b) || i < len(a) && a[i].before(b[j]):
			out = append(out, a[i])
			i++
		case i == len(a) || b[j].before(a[i]):
			out = append(out, b[j])
			changed = true
			j++
		default:
			s := a[i]
			if b[j].Version > s.Version {
				s, changed = b[j], true
			}
			out = append(out, s)
			i++
			j++
		}
	}
	if !changed {
		return cur, false
	}
	return Version{Kind: Counter, Value: encodeSlots(out), Stamp: latest(out)}, true
}

// SumCounters makes the store merge a counter's slot with a newer state of
// it by adding the two states' sums instead of keeping the newer one: the
// planted bug node.MutantMergeSum. Nothing else calls it.
func (s *Store) SumCounters() { s.sum = true }

// mergeSum is mergeCounter with SumCounters' bug: a newer state of a slot
// adds its sums to the held ones.
func mergeSum(cur, next Version) (Version, bool) {
	a, errA := Slots(cur)
	b, errB := Slots(next)
	if errA != nil || errB != nil {
		return mergeCounter(cur, next)
	}
	changed := false
	for _, y := range b {
		i := slices.IndexFunc(a, func(x Slot) bool { return x.Node == y.Node && x.Gen == y.Gen })
		switch {
		case i < 0:
			a, changed = append(a, y), true
		case y.Version > a[i].Version:
			a[i] = Slot{Node: y.Node, Gen: y.Gen, Version: y.Version, P: a[i].P + y.P, N: a[i].N + y.N}
			changed = true
		}
	}
	if !changed {
		return cur, false
	}
	return CounterAt(a), true
}

// hashCounter adds a kind byte and the slots' canonical bytes.
func hashCounter(b []byte, v Version) []byte { return append(append(b, 'c'), v.Value...) }

// seenCounter reports whether marks cover every slot: each owner's mark
// is at or past its slot's version.
func seenCounter(v Version, mark func(uint16) (uint64, bool)) bool {
	slots, err := Slots(v)
	if err != nil {
		return false
	}
	for _, s := range slots {
		if c, ok := mark(s.Node); !ok || s.Version > c {
			return false
		}
	}
	return true
}
