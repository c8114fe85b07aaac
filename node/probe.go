package node

import (
	"slices"

	"github.com/memdb/memdb/node/stream"
)

// Coverage probes: named rare states a node can reach, each counted when
// the node reaches it. The simulator sums every node's counts over a run
// (crashed incarnations included) and reports the probes no seed reached:
// a state no seed reaches is a state no checker has ever judged. A probe
// only counts; it never changes what the node does, consumes no
// randomness and sends nothing, so event hashes do not move.
//
// Each probe is one line at the spot where the state is reached: n.probe
// where reaching the line is the state, n.probeIf where a condition on the
// line's data decides it.
const (
	// ProbeHintAfterRestart: a hint acknowledged by a replica whose gossip
	// incarnation rose after the hint was queued — it restarted (or
	// refuted a suspicion of it) in between. Needs a write, a replica down
	// or unreachable for it, and a restart before the replay: hints to a
	// restarted node are what must not be lost or applied twice.
	ProbeHintAfterRestart = "hint-after-restart"
	// ProbeHintDropped: a hint dropped because the replica's queue was
	// over its bounds (Config.HintBytes, HintWindow): tens of megabytes
	// written for a replica, or one down for hours. Catch-up and
	// anti-entropy must cover the loss.
	ProbeHintDropped = "hint-dropped"
	// ProbePaxosUnknownMinority: a round's proposal of the client's own
	// value was accepted by some acceptors but fewer than a quorum, and
	// the round gave up with an unknown outcome. Needs the propose phase
	// to lose acceptors between two round trips; a later proposer may
	// still choose the value, which the checkers must allow and no more.
	ProbePaxosUnknownMinority = "paxos-unknown-minority"
	// ProbePaxosTwoRings: a Paxos attempt that needed a quorum of each of
	// two replica sets, because a node was joining or leaving. Needs CAS
	// traffic on a key whose replicas a movement changes, while it runs.
	ProbePaxosTwoRings = "paxos-two-rings"
	// ProbeCASTwoRings: a client's value chosen by quorums of both rings
	// (CAS across a ring change completed): the joint quorums carried a
	// write, not only a read.
	ProbeCASTwoRings = "cas-two-rings"
	// ProbePaxosFinishOther: a proposer found a proposal in progress newer
	// than every committed version and proposed it again to finish it.
	// Needs a proposer to stop between acceptance and commit (a crash, a
	// timeout, a lost commit) and another round on the key after it.
	ProbePaxosFinishOther = "paxos-finish-other"
	// ProbePaxosPreempted: a proposal of the client's own value that every
	// acceptor refused, after a quorum promised its ballot: a competing
	// proposer prepared in the gap between the two phases.
	ProbePaxosPreempted = "paxos-preempted"
	// ProbePaxosContention: a round gave up at its deadline after
	// competing proposers refused its ballots ("contention").
	ProbePaxosContention = "paxos-contention"
	// ProbeAcceptDuplicate: a proposal this acceptor had already accepted
	// arrived again (network duplication, or a proposer finishing it) and
	// was answered OK, even if a higher ballot was promised since.
	ProbeAcceptDuplicate = "accept-duplicate"
	// ProbeAcceptorRestored: the node booted with Paxos acceptor state
	// still live in its log (a promise or an acceptance not yet settled by
	// a commit): it crashed mid-round, and the state must survive.
	ProbeAcceptorRestored = "acceptor-restored"
	// ProbeReadFallbackInProgress: a serial read's peek found a proposal
	// in progress newer than the committed value and fell back to a full
	// round to finish it.
	ProbeReadFallbackInProgress = "read-fallback-in-progress"
	// ProbeReadFallbackSilent: a serial read's peek got too few answers
	// (silence or stale-ring refusals) and fell back to a full round.
	ProbeReadFallbackSilent = "read-fallback-silent"
	// ProbeTornTail: recovery cut a torn tail off the operation log: a
	// crash landed in the middle of an unsynced append.
	ProbeTornTail = "torn-tail"
	// ProbeNodeBroke: the node's log failed (a sync error, a full disk)
	// and it stopped serving until a restart.
	ProbeNodeBroke = "node-broke"
	// ProbeMoveLockTakeover: a mover took the movement lock from a
	// movement that had finished without giving it back (its node died
	// between its last phase change and the release).
	ProbeMoveLockTakeover = "move-lock-takeover"
	// ProbeLeaveResumed: a node restarted while leaving and resumed its
	// hand-off after catching up.
	ProbeLeaveResumed     = "leave-resumed"
	ProbeRepairArcsDiffer = stream.ProbeRepairArcsDiffer // node/stream
	ProbeSyncBehindEpoch  = stream.ProbeSyncBehindEpoch  // node/stream
	// ProbeFenced: a peer's request refused because its coordinator was
	// on an older ring epoch than this node.
	ProbeFenced = "fenced-stale-ring"
	// ProbeReadRepairWait: a quorum read found stale replicas among its
	// answers and waited for them to take the newest version before it
	// answered.
	ProbeReadRepairWait = "read-repair-wait"
	// ProbeWriteUnknownPartial: a plain write timed out with some
	// replicas acknowledging it but too few for its level: an unknown
	// outcome that is on disk somewhere.
	ProbeWriteUnknownPartial = "write-unknown-partial"
	ProbeCatchUpGap          = stream.ProbeCatchUpGap // node/stream
	ProbeSyncGaveUp          = stream.ProbeSyncGaveUp // node/stream
	// ProbeStateLost: a node started with an empty log found the cluster
	// has it on the ring (its disk was wiped or replaced) and rebuilt its
	// state from its replicas before serving.
	ProbeStateLost = "state-lost"
	// ProbeWriteResent: a write that a replica refused as made on an older
	// ring was sent again on the newer one the coordinator then learned.
	ProbeWriteResent = "write-resent"
	// ProbeWriteRestamped: a write that a replica refused as stamped at
	// or below its tombstone floor was stamped again (restamp).
	ProbeWriteRestamped = "write-restamped"
)

// Probes lists every probe by name, in the order of the constants.
var Probes = []string{
	ProbeHintAfterRestart, ProbeHintDropped,
	ProbePaxosUnknownMinority, ProbePaxosTwoRings, ProbeCASTwoRings, ProbePaxosFinishOther,
	ProbePaxosPreempted, ProbePaxosContention, ProbeAcceptDuplicate, ProbeAcceptorRestored,
	ProbeReadFallbackInProgress, ProbeReadFallbackSilent,
	ProbeTornTail, ProbeNodeBroke,
	ProbeMoveLockTakeover, ProbeLeaveResumed,
	ProbeRepairArcsDiffer, ProbeSyncBehindEpoch, ProbeFenced,
	ProbeReadRepairWait, ProbeWriteUnknownPartial, ProbeCatchUpGap, ProbeSyncGaveUp,
	ProbeStateLost, ProbeWriteResent, ProbeWriteRestamped,
}

// probe counts one arrival at the rare state name (one of Probes).
func (n *Node) probe(name string) {
	if n.probes == nil {
		n.probes = make(map[string]uint64)
	}
	n.probes[name]++
}

// probeIf counts one arrival at name if cond holds.
func (n *Node) probeIf(cond bool, name string) {
	if cond {
		n.probe(name)
	}
}

// incarnation is member id's gossip incarnation as this node knows it.
func (n *Node) incarnation(id uint16) uint64 {
	if n.gossip == nil {
		return 0
	}
	m, _ := n.gossip.Member(id)
	return m.Incarnation
}

// ProbeCount is how often a node reached one probe's state.
type ProbeCount struct {
	Name  string
	Count uint64
}

// ProbeCounts returns, for every probe in Probes order, how often this
// node (this incarnation: counts start at zero on every New) reached its
// state.
func (n *Node) ProbeCounts() []ProbeCount {
	out := make([]ProbeCount, len(Probes))
	for i, name := range Probes {
		out[i] = ProbeCount{Name: name, Count: n.probes[name]}
	}
	return out
}

// IsProbe reports whether name is one of Probes.
func IsProbe(name string) bool { return slices.Contains(Probes, name) }
