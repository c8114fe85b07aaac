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
	// a replica, a Paxos commit, a hint or a stream; of a counter, it adds
	// 3 to every slot's increments. Not a subtle bug but a
	// canary: every scenario's checkers must catch it on nearly every seed,
	// or the mutants machinery itself is broken (memdb-sim mutants fails if
	// a scenario misses it). Losing the write instead would not do: a Paxos
	// acceptor keeps an accepted value in progress until the store holds
	// it, so the next round recovers a commit that was lost.
	MutantCanary = "canary-corrupt-writes"

	// The counter mutants (issue 14): each breaks one rule of
	// design/counters.md, and the counter checker (sim/counter_check.go)
	// must see the count go wrong.

	// MutantIncrTableSkipped: the leader ignores its table of applied
	// increments (Judge's verdict), so a retry of an increment it applied
	// is applied again (gocql#1075).
	MutantIncrTableSkipped = "counter-table-skipped"
	// MutantSlotReused: a node's log generation is its node id rather than
	// a random id, so a node that lost its disk (a wipe, a corrupt log set
	// aside) writes its old slot again (riak_kv#679's key amnesia). A
	// member that rebuilds gets its old slot back before it leads, so the
	// reuse shows only where a node leads without it: one wiped in the
	// middle of its join, which joins again (chaos seeds 137, 226, 228,
	// 271).
	MutantSlotReused = "counter-slot-reused"
	// MutantSlotNotDurable: the leader sends its slot, and answers, as
	// soon as the record is appended, before it is synced, leaving it to
	// the next group commit: a crash takes the slot back though replicas
	// hold it and the client was answered (scylladb#2169).
	MutantSlotNotDurable = "counter-slot-not-durable"
	// MutantHintDelta: the hint of an increment for a replica that missed
	// it carries the increment's own amount as the slot's state, at the
	// slot's new version — a delta, where a state was due: the replica
	// that takes it loses the slot's earlier increments (scylladb#5833).
	MutantHintDelta = "counter-hint-delta"
	// MutantMergeSum: replicas merge a slot they hold with a newer state
	// of it by adding the two states' sums, not by keeping the newer one
	// (node/store's Store.SumCounters).
	MutantMergeSum = "counter-merge-sum"
	// MutantForeignSlot: the leader of an increment raises the first slot
	// of the counter's state, whoever owns it, rather than its own: two
	// nodes write one slot, and the later version hides the other's
	// increments.
	MutantForeignSlot = "counter-foreign-slot"

	// The batch mutants (issue 15): each breaks one rule of
	// design/batches.md, and the batch checker (sim/batch_check.go) must
	// see a batch fractured, partly applied, or an aborted value read.

	// MutantReadersIgnoreIntents: a quorum read answers the key's last
	// committed value without looking up the records of the undecided
	// intents it found, so it can miss a committed batch's value that an
	// earlier read returned for another key (a fractured read).
	MutantReadersIgnoreIntents = "batch-readers-ignore-intents"
	// MutantResolveEarly: the coordinator writes each key's value as soon
	// as the key's intent met its quorum, before the decision: a batch
	// aborted because another key's intent did not is partly applied.
	MutantResolveEarly = "batch-resolve-early"
	// MutantIntentsAtOne: intents are written at level one, not at quorum
	// in every group, so a read's quorum can miss an intent of a committed
	// batch.
	MutantIntentsAtOne = "batch-intents-at-one"
	// MutantStreamDropsIntents: streaming (a join, a leave, a catch-up)
	// sends each key's state without its intents (tikv#11452).
	MutantStreamDropsIntents = "batch-stream-drops-intents"
	// MutantBlindAbort: a batch is aborted by writing aborted markers to
	// its keys, not by compare-and-set on its record: a sweeper can abort
	// keys of a batch its coordinator commits.
	MutantBlindAbort = "batch-blind-abort"
	// MutantNoTokenCheck: an intent is taken as committed whenever its
	// batch's record is, whichever attempt of the batch it came from: a
	// retried batch applies twice, its second version over later writes.
	MutantNoTokenCheck = "batch-no-token-check"

	// --- issue 19 (sim19): mutants across replication, LWW and the log.
	// Each is caught by a checker of sim/guarantees.go or by the cluster
	// checkers; PAPER §5.17 has seeds to first detection.

	// MutantReverseTies: a replica's store orders two register versions
	// with the same Lamport counter by the lower node id, where every
	// other part of the system (reads, the checkers) takes the higher:
	// replicas keep, and anti-entropy spreads, the write that lost.
	MutantReverseTies = "lww-reverse-ties"
	// MutantRepairAsync: a quorum read that found stale answerers answers
	// at once and repairs them in the background, instead of waiting for
	// its result to be on a quorum (blocking read repair): a later quorum
	// read can miss what an earlier one returned.
	MutantRepairAsync = "read-repair-async"
	// MutantAckBeforeSync: a replica applies a write to its store and
	// acknowledges it once it is appended to the log, before the sync: a
	// crash takes back a write the client was told is durable.
	MutantAckBeforeSync = "log-ack-before-sync"
	// MutantCompactInFlight: a compaction's base leaves out the writes
	// appended but not yet committed (PAPER bug 27 brought back): a crash
	// after the swap loses a write acknowledged meanwhile.
	MutantCompactInFlight = "compact-drop-in-flight"
	// MutantCompactTombstones: a compaction's base leaves out tombstones,
	// so a replica that restarts after one has forgotten a delete.
	MutantCompactTombstones = "compact-drop-tombstones"
	// MutantQuorumAsOne: a write asked at quorum is acknowledged after the
	// first replica's answer, as if at level one.
	MutantQuorumAsOne = "write-quorum-as-one"
	// MutantHintDropLast: a hinted handoff sends each batch without its
	// last hint and counts the whole batch delivered.
	MutantHintDropLast = "hint-drop-last"
	// MutantNoFence: a replica serves a write or read made on an older
	// ring instead of refusing it (epoch fencing off).
	MutantNoFence = "fence-off"
	// MutantCatchUpOwnClock: a restarted node catches up past its own
	// highest counter for every origin, instead of past each origin's own
	// mark: the writes other nodes stamped below it while it was down
	// (their clocks lag) are never fetched (DESIGN §4's catch-up hazard).
	MutantCatchUpOwnClock = "catchup-own-clock"
	// MutantCatchUpLiveMarks: a restarted node catches up past its marks
	// as they are when catch-up runs rather than as its log had them at
	// boot: the writes it took from live replication since it started
	// raise them over the ones it missed while down.
	MutantCatchUpLiveMarks = "catchup-live-marks"
	// MutantSessionIgnored: a node ignores the session clock a client
	// sends with its request, so a write it stamps may be older than what
	// the client had already read or written.
	MutantSessionIgnored = "session-ignored"

	// The tombstone mutants (issue 22): each breaks one rule of grave.go,
	// and the resurrection checker must see a deleted value come back, or
	// the linearizability checker a compare-and-set go wrong.

	// MutantTombstoneUnverified: a tombstone is dropped once it is old
	// enough, without every other replica seen clean of older values.
	MutantTombstoneUnverified = "tombstone-purge-unverified"
	// MutantTombstoneHintsKept: hints wait as long as their window allows,
	// however old, so one older than a dropped tombstone still arrives.
	MutantTombstoneHintsKept = "tombstone-hints-kept"
	// MutantTombstoneStaleClean: a comparison begun before the tombstone
	// came counts as seeing a replica clean of it, so a replica down (or
	// cut off) since before the delete is taken as clean, as a replica
	// down past the grace that catches up by marks would be.
	MutantTombstoneStaleClean = "tombstone-stale-clean"
	// MutantTombstoneFloorForgotten: dropping a tombstone forgets its Paxos
	// floor (and a restart does not refuse the ballots its log saw), so a
	// ballot drawn before the delete can still choose a value.
	MutantTombstoneFloorForgotten = "tombstone-floor-forgotten"
	// MutantTombstoneStaleTaken: a replica takes a register's value
	// stamped at or below its tombstone floor for a key it holds nothing
	// of (a write from a coordinator whose clock lagged by a grace, a copy
	// held back by a pause) as it takes any other, so the value lands on
	// the nothing a dropped tombstone left.
	MutantTombstoneStaleTaken = "tombstone-stale-taken"
	// MutantKeepUnowned: a node keeps the keys of arcs a movement took
	// from it, so a value whose tombstone the new owners dropped comes
	// back if the arc returns to it (a leave or removal later).
	MutantKeepUnowned = "tombstone-keep-unowned"

	// MutantRecordUnchecked (batch records' collection, batchgc.go): a
	// committed batch's record is collected on the retention window and a
	// settled ring alone, without asking its keys' replicas whether they
	// hold its write: an intent of it held undecided by a replica that
	// missed the resolution is then aborted through a fresh record, and
	// the batch is applied on some keys only.
	MutantRecordUnchecked = "batch-record-unchecked"
)

// Mutants lists every planted bug by name.
var Mutants = []string{MutantIgnoreAccepted, MutantForgetPromise, MutantReadUncommitted, MutantSharedBallots, MutantStaleRing, MutantCanary,
	MutantIncrTableSkipped, MutantSlotReused, MutantSlotNotDurable, MutantHintDelta, MutantMergeSum, MutantForeignSlot,
	MutantReadersIgnoreIntents, MutantResolveEarly, MutantIntentsAtOne, MutantStreamDropsIntents, MutantBlindAbort, MutantNoTokenCheck,
	// --- issue 19 (sim19)
	MutantReverseTies, MutantRepairAsync, MutantAckBeforeSync, MutantCompactInFlight, MutantCompactTombstones,
	MutantQuorumAsOne, MutantHintDropLast, MutantNoFence, MutantCatchUpOwnClock, MutantCatchUpLiveMarks, MutantSessionIgnored,
	MutantTombstoneUnverified, MutantTombstoneHintsKept, MutantTombstoneStaleClean, MutantTombstoneFloorForgotten, MutantKeepUnowned,
	MutantTombstoneStaleTaken, MutantRecordUnchecked,
}

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
