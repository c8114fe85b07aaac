package node

import (
	"fmt"
	"slices"
)

// Planted bugs ("mutants") that the simulator's checkers must catch. Each
// is switched on by name through Config.Mutant, and only in binaries built
// with the mutants tag (go test -tags mutants); in every other build
// mutantsBuilt is a false constant, the checks compile away, and a Config
// that names a mutant is refused.
const (
	// MutantIgnoreAccepted: a proposer ignores the accepted proposals that
	// come back in promises, and proposes its own value over them.
	MutantIgnoreAccepted = "paxos-ignore-accepted"
	// MutantForgetPromise: an acceptor forgets its promises when it
	// restarts (replay skips them).
	MutantForgetPromise = "paxos-forget-promise"
	// MutantReadUncommitted: a serial read that finds an accepted but
	// uncommitted proposal returns it without finishing it.
	MutantReadUncommitted = "paxos-read-uncommitted"
	// MutantSharedBallots: ballots leave out the node id, so two proposers
	// can use the same ballot.
	MutantSharedBallots = "paxos-shared-ballots"
	// MutantStaleRing: Paxos uses the replicas of the ring before a join or
	// leave finishes, instead of both rings' quorums while it runs.
	MutantStaleRing = "paxos-stale-ring"
	// MutantCanary: a replica acknowledges a write but keeps (logs and
	// applies) another value, wherever the write comes from: a coordinator,
	// a replica, a Paxos commit, a hint or a stream. Not a subtle bug but a
	// canary: every scenario's checkers must catch it on nearly every seed,
	// or the mutants machinery itself is broken (memdb-sim mutants fails if
	// a scenario misses it). Losing the write instead would not do: a Paxos
	// acceptor keeps an accepted value in progress until the store holds
	// it, so the next round recovers a commit that was lost.
	MutantCanary = "canary-corrupt-writes"
)

// Mutants lists every planted bug by name.
var Mutants = []string{MutantIgnoreAccepted, MutantForgetPromise, MutantReadUncommitted, MutantSharedBallots, MutantStaleRing, MutantCanary}

// MutantsBuilt reports whether this binary can switch mutants on.
func MutantsBuilt() bool { return mutantsBuilt }

func (n *Node) mutant(name string) bool { return mutantsBuilt && n.cfg.Mutant == name }

func validateMutant(name string) error {
	switch {
	case name == "":
		return nil
	case !mutantsBuilt:
		return fmt.Errorf("mutant %q: planted bugs exist only in test builds (-tags mutants)", name)
	case !slices.Contains(Mutants, name):
		return fmt.Errorf("unknown mutant %q (known: %v)", name, Mutants)
	}
	return nil
}
