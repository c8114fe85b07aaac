// Package paxos holds the decisions of memdb's per-key Paxos (DESIGN §4,
// PAPER §1.5), both sides, pure:
//
//   - Acceptors (acceptors.go): the table of acceptor state a node keeps
//     for keys with a round in flight. It takes ballots and the key's
//     committed stamp, changes its table, and returns what to log and
//     what to answer.
//   - Round (round.go, step.go): the proposer of one client request — a
//     CAS, a serial read or a Paxos put — in the style of etcd raft's
//     core. The node starts a phase (Peek, or Prepare at a ballot it
//     drew) with the replica groups and the acceptors it asks; every
//     answer, or nil for none in time, goes to Answer; each returns a
//     Step: wait, send the next phase, commit a chosen value, reply,
//     fail, retry after a backoff, or start another attempt. At the
//     deadline the node calls GiveUp. What the round is and why it is
//     safe is node's package doc (Paxos: the proposer; serial reads
//     without a ballot). The round never sends, draws, waits or counts:
//     ballots, the choice of acceptors, timeouts, the backoff and the
//     ballot jump, stats, probes and logs are the node's (node/paxos.go);
//     the planted bugs whose hooks are inside its decisions come in as
//     Proposer's flags.
//
// # The acceptor
//
// A key's state is a promise and an accepted proposal; the key's committed
// value is simply the key's version in the node's store, stamped with the
// ballot that chose it. So:
//
//   - An acceptor refuses any ballot at or below its floor: the higher of
//     its promise and the stamp of the version it holds. A version stamped
//     s means a proposal at s was chosen (or, if plain writes were mixed
//     in, that the key moved on), so a ballot below s is stale either way.
//   - An accepted proposal is "in progress" only while its ballot is above
//     the stored version's stamp. A commit — or the same value arriving by
//     read repair, a hint or streaming — settles it.
//   - State that the stored version subsumes (promise and proposal both at
//     or below its stamp) is forgotten, so only keys with a round in
//     flight cost memory.
//
// # Durability contract
//
// Promise, Accept and TakeOver return log records. The caller must append
// them and have them synced — whatever the node's fsync mode — before it
// sends the answer they back: a promise or an acceptance that a crash
// could take back breaks Paxos (the forget-promise mutant plants exactly
// that, and the cas-race scenario catches it). A Duplicate verdict, with
// no records, still waits for a sync: the first acceptance of the
// proposal may be in flight. Replay rebuilds the table from those records
// at boot; Records gives them back for a compaction's base.
//
// Dropping a tombstone would lower a key's floor; the rule for that must
// keep the floor, or keep acceptor state, for Paxos keys.
package paxos
