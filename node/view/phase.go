package view

import "fmt"

// Phase is where a member stands on the ring. It is encoded in the
// member's ring version, which gossip merges by maximum, so every change of
// phase raises the version and a later phase always wins. Gossip reads odd
// versions as "on the ring" and even ones as "left"; within that, versions
// cycle through joining (1 mod 6), normal (3 mod 6), leaving (5 mod 6) and
// left (0 mod 6), so a node that left and comes back starts a new cycle.
// Any other even version (an operator's removal) is left too.
type Phase uint8

const (
	// None: the member has not joined (ring version 0).
	None Phase = iota
	// Joining: the member takes writes for the ranges it will own (as a
	// pending replica, on top of the natural ones) and streams their data;
	// reads do not go to it yet.
	Joining
	// Normal: the member owns its ranges for reads and writes.
	Normal
	// Leaving: the member still serves reads for its ranges while it hands
	// them to the members that gain them; writes go to those too.
	Leaving
	// Left: the member has handed off its ranges and owns none.
	Left
)

func (p Phase) String() string {
	if int(p) < len(phases) {
		return phases[p]
	}
	return fmt.Sprintf("phase(%d)", uint8(p))
}

var phases = [...]string{"none", "joining", "normal", "leaving", "left"}

// PhaseOf is the phase ring version v encodes.
func PhaseOf(v uint32) Phase {
	switch {
	case v == 0:
		return None
	case v%2 == 0:
		return Left
	case v%6 == 1:
		return Joining
	case v%6 == 3:
		return Normal
	default:
		return Leaving
	}
}

// NextVersion is the first version after v whose phase is p.
func NextVersion(v uint32, p Phase) uint32 {
	for w := v + 1; ; w++ {
		if PhaseOf(w) == p && (p != Left || w%6 == 0) {
			return w
		}
	}
}
