package clock

import (
	"cmp"
	"fmt"
)

// Timestamp is a Lamport timestamp. Timestamps are totally ordered: by
// Counter, then by Node. The zero Timestamp is before every stamped one.
type Timestamp struct {
	Counter uint64
	Node    uint16
}

// Compare returns -1, 0 or +1 as t is before, equal to or after u.
func (t Timestamp) Compare(u Timestamp) int {
	if c := cmp.Compare(t.Counter, u.Counter); c != 0 {
		return c
	}
	return cmp.Compare(t.Node, u.Node)
}

// Less reports whether t is before u.
func (t Timestamp) Less(u Timestamp) bool { return t.Compare(u) < 0 }

// IsZero reports whether t is the zero timestamp.
func (t Timestamp) IsZero() bool { return t == Timestamp{} }

// Max returns the later of t and u.
func (t Timestamp) Max(u Timestamp) Timestamp {
	if t.Less(u) {
		return u
	}
	return t
}

func (t Timestamp) String() string { return fmt.Sprintf("%d.%d", t.Counter, t.Node) }

// Lamport is one node's logical clock. It is not safe for concurrent use; a
// node touches it only from its loop.
type Lamport struct {
	node uint16
	last uint64
}

// NewLamport returns a clock for node whose counter starts after floor, so a
// node restarting from its log never issues a timestamp it issued before.
func NewLamport(node uint16, floor uint64) *Lamport {
	return &Lamport{node: node, last: floor}
}

// Tick returns a fresh timestamp, after every timestamp issued or observed.
func (l *Lamport) Tick() Timestamp {
	l.last++
	return Timestamp{Counter: l.last, Node: l.node}
}

// Observe advances the clock past a timestamp carried by a message or a
// client session, so the next Tick is after it.
func (l *Lamport) Observe(t Timestamp) {
	if t.Counter > l.last {
		l.last = t.Counter
	}
}

// Now returns the latest timestamp issued or observed, without advancing.
func (l *Lamport) Now() Timestamp { return Timestamp{Counter: l.last, Node: l.node} }
