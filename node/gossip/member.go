package gossip

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// State is what the failure detector believes about a member.
type State uint8

// The states, in merge order: at equal ring version and incarnation a record
// in a later state wins over one in an earlier state.
const (
	// Alive: the member answers, directly or through others.
	Alive State = iota
	// Suspect: a probe of the member failed; unless it refutes within the
	// suspicion timeout, it is declared Dead.
	Suspect
	// Dead: the member was suspected and did not refute. It keeps its place
	// on the ring: a dead node is expected to come back.
	Dead
	// Left: the member left the ring (or an operator removed it). Final for
	// its ring version; only a new join (a higher, odd Ring) undoes it.
	Left
)

var stateNames = [...]string{Alive: "alive", Suspect: "suspect", Dead: "dead", Left: "left"}

func (s State) String() string {
	if int(s) < len(stateNames) {
		return stateNames[s]
	}
	return fmt.Sprintf("State(%d)", uint8(s))
}

// MaxAddr bounds the length of a member's address in bytes (it travels
// behind a one-byte length).
const MaxAddr = 255

// Member is one member's record, as gossip spreads and merges it. Records
// are values: every field travels together, and the merge rule (Newer)
// picks one whole record over another, never a field-by-field mix.
type Member struct {
	ID   uint16 // 1..65535
	Addr string // where it listens for peers; 1..MaxAddr bytes
	// Incarnation is raised only by the member itself, to refute a
	// suspicion of it (or to announce a restart).
	Incarnation uint64
	State       State
	// Ring is the member's ring version: odd while it is on the ring, even
	// (2 or more) once it has left, 0 while unknown or not yet joined. Only
	// ring-changing events bump it: a join (to odd), a leave or an
	// operator's removal (to even).
	Ring uint32
	// Vnodes is the number of virtual tokens the member takes on the ring;
	// Tokens, if any, are its explicit places on it instead (ascending, at
	// most MaxTokens, and then Vnodes is 0).
	Vnodes uint16
	Tokens []uint64
}

// MaxTokens bounds a member's explicit tokens (as node/ring does).
const MaxTokens = 4096

// OnRing reports whether the member holds a place on the ring: it joined
// (odd Ring) and has not left. Dead members stay on the ring.
func (m Member) OnRing() bool { return m.Ring%2 == 1 }

// Validate reports whether m is a record gossip can hold: a nonzero id, an
// address of 1..MaxAddr bytes, a known state, and a state that agrees with
// the ring version (Left exactly when Ring is even and at least 2). Decoding
// rejects any record Validate rejects; Restore skips them.
func (m Member) Validate() error {
	switch {
	case m.ID == 0:
		return fmt.Errorf("%w: member id 0", ErrMalformed)
	case m.Addr == "" || len(m.Addr) > MaxAddr:
		return fmt.Errorf("%w: member %d has a %d-byte address (want 1..%d)", ErrMalformed, m.ID, len(m.Addr), MaxAddr)
	case m.State > Left:
		return fmt.Errorf("%w: member %d has unknown state %d", ErrMalformed, m.ID, uint8(m.State))
	case (m.State == Left) != (m.Ring >= 2 && m.Ring%2 == 0):
		return fmt.Errorf("%w: member %d is %v at ring version %d (left exactly at even versions)", ErrMalformed, m.ID, m.State, m.Ring)
	case m.Vnodes > MaxTokens:
		return fmt.Errorf("%w: member %d has %d virtual tokens (at most %d)", ErrMalformed, m.ID, m.Vnodes, MaxTokens)
	case len(m.Tokens) > MaxTokens || len(m.Tokens) > 0 && m.Vnodes != 0:
		return fmt.Errorf("%w: member %d has %d explicit tokens and %d virtual ones (want at most %d explicit, and then no virtual)", ErrMalformed, m.ID, len(m.Tokens), m.Vnodes, MaxTokens)
	}
	for i := 1; i < len(m.Tokens); i++ {
		if m.Tokens[i] <= m.Tokens[i-1] {
			return fmt.Errorf("%w: member %d's tokens are not strictly ascending", ErrMalformed, m.ID)
		}
	}
	return nil
}

func (m Member) String() string {
	return fmt.Sprintf("%d@%s/i%d/r%d/%v", m.ID, m.Addr, m.Incarnation, m.Ring, m.State)
}

// Compare orders two records of the same member by the merge rule: the
// higher Ring wins; at equal Ring the higher Incarnation; at equal
// incarnation the later State (Left > Dead > Suspect > Alive). Addr,
// Vnodes and Tokens break the remaining ties, which only a member that lost its own
// state can produce, so that the order is total and every node that has seen
// the same records keeps the same one. It returns -1, 0 or +1.
func Compare(a, b Member) int {
	if c := cmp.Compare(a.Ring, b.Ring); c != 0 {
		return c
	}
	if c := cmp.Compare(a.Incarnation, b.Incarnation); c != 0 {
		return c
	}
	if c := cmp.Compare(a.State, b.State); c != 0 {
		return c
	}
	if c := strings.Compare(a.Addr, b.Addr); c != 0 {
		return c
	}
	if c := cmp.Compare(a.Vnodes, b.Vnodes); c != 0 {
		return c
	}
	return slices.Compare(a.Tokens, b.Tokens)
}

// Newer reports whether record a supersedes record b under the merge rule
// (Compare(a, b) > 0). Because the order is total, merging is the maximum:
// commutative, associative and idempotent, so nodes that have received the
// same records, in any order and any number of times, hold the same one.
func Newer(a, b Member) bool { return Compare(a, b) > 0 }

// nextEven is the ring version a member takes on leaving: the next even
// version after r (a member that never joined leaves at 2).
func nextEven(r uint32) uint32 {
	if r%2 == 1 {
		return r + 1
	}
	return r + 2
}
