package quorum

import (
	"slices"

	"github.com/memdb/memdb/net"
)

// Result is the verdict on a request.
type Result uint8

const (
	// Pending: the answers so far decide nothing.
	Pending Result = iota
	// Won: every group reached the level.
	Won
	// Lost: some group can no longer reach the level.
	Lost
)

func (r Result) String() string {
	switch r {
	case Won:
		return "won"
	case Lost:
		return "lost"
	}
	return "pending"
}

// Need is how many of n replicas a request at level must hear from: one,
// all, or a majority (the default, quorum and serial levels).
func Need(level net.Consistency, n int) int {
	switch level {
	case net.One:
		return 1
	case net.All:
		return n
	default:
		return n/2 + 1
	}
}

// Joint is the replica groups a request must satisfy, each at its level:
// the key's replicas on the read ring and, while a member joins or leaves
// and they differ, its replicas on the write ring. A Joint with no group
// (no member owns the key yet) is never met.
type Joint [][]uint16

// Met reports whether the replicas in yes reach level's count in every
// group.
func (j Joint) Met(level net.Consistency, yes []uint16) bool {
	for _, g := range j {
		c := 0
		for _, id := range g {
			if slices.Contains(yes, id) {
				c++
			}
		}
		if c < Need(level, len(g)) {
			return false
		}
	}
	return len(j) > 0
}

// Result is the verdict on a request at level sent to the replicas in
// asked, of which those in yes said yes and those in no said no or will
// never answer. A replica not asked counts as no.
func (j Joint) Result(level net.Consistency, asked, yes, no []uint16) Result {
	if j.Met(level, yes) {
		return Won
	}
	var maybe []uint16
	for _, id := range asked {
		if !slices.Contains(no, id) {
			maybe = append(maybe, id)
		}
	}
	if j.Met(level, maybe) {
		return Pending
	}
	return Lost
}

// All is every replica of any group, each once, in the order the groups
// name them.
func (j Joint) All() []uint16 {
	var all []uint16
	for _, g := range j {
		for _, id := range g {
			if !slices.Contains(all, id) {
				all = append(all, id)
			}
		}
	}
	return all
}
