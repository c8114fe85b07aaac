// Package node is a memdb node: a single-threaded, event-driven state
// machine that is the same code in the live host (memdbd) and in the
// simulator.
//
// A host drives a Node by calling one method at a time, for one event: Start
// when the node boots, Request when a client frame arrives, Deliver when a
// peer's message arrives, Disconnected when a client connection closes, and
// the callbacks the node itself registered through its Env (timers, disk
// completions). No two calls overlap, and none blocks: the node acts only
// through its Env — Clock, Transport, Disk, a seeded Rand and a Logger.
//
// Nothing in this package may read the wall clock, start a goroutine, use a
// channel or select, draw from global randomness, open sockets or files, or
// let Go's random map order decide what is sent, logged, written or drawn.
// lint_test.go enforces the textual part of that rule; the simulator's
// determinism test (same seed, same event hash) enforces the rest.
//
// Every write is stamped with a Lamport timestamp; every frame the node
// sends carries its clock, and every frame it receives advances it. A client
// sends the highest timestamp it has seen with each request, so its later
// writes are stamped after its earlier ones, whichever node coordinates them.
//
// # Parts
//
// The node is one state machine, Node (node.go), whose methods the host
// calls one event at a time; what it decides rests on pure parts, each a
// package with its own tests:
//
//	node/quorum    a request's verdict (won, pending, lost) at a level over
//	               the joint replica groups of a key
//	node/view      phases, the read and write rings, a key's groups, arcs
//	node/store     the table, and value kinds: how states merge, hash and
//	               encode (the one seam every path that moves data uses)
//	node/coord     the requests the node coordinates: their table, a
//	               write's and a read's state and what each answer or
//	               deadline decides (route, reply, repair, hint, finish),
//	               and the hint queues with their bounds and replays
//	node/counter   the increments a node applied, by id, and the rule that
//	               judges a retry (a counter's state is node/store's kind)
//	node/paxos     the acceptor table and its durability contract; the
//	               proposer's round (answers in, steps out)
//	node/paxos/repair
//	               Paxos repair: the keys in progress on arcs that change
//	               hands, asked of their owners and finished by full
//	               rounds, behind a small interface to the node
//	node/stream    moving data between replicas: scans and digests, and
//	               the Driver of pulls, pushes, Syncs served and
//	               anti-entropy's comparisons, behind a small interface
//	               to the node (stream.Node)
//	node/grave     the tombstone rule's record of the spans anti-entropy
//	               found equal with each peer (who was seen clean, when),
//	               its verdict on a tombstone, the graves with their
//	               sweeps, and the Driver of sweeps and of forgetting
//	               the keys of arcs a movement took (grave.Node)
//	node/movement  the ring's life: the movement lock's value, the plans of
//	               joins, leaves, removals and catch-up over a view, and
//	               the drivers of their steps; its doc has the design
//	               (membership, range movements, removing a member,
//	               rebuilding lost state, Paxos repair)
//	node/oplog     the operation log: records, segments, compaction
//	node/ring      the consistent-hashing ring
//	node/gossip    SWIM membership, persisted member records
//	node/nodetest  several real Nodes over a manual network, disk and
//	               clock, driven by text scripts (testdata/)
//
// The files of this package are its effects and protocols: node.go (the
// Node, its Env, its boot and log replay, dispatch of peers' messages,
// and stamping under a logged Lamport lease), config.go, request.go
// (client requests), coordinate.go (the effects of node/coord:
// stamping, sending, local applies, timers, hints kept and replayed), replica.go
// (a replica's side: applyEntries, fencing), incr.go (leading and
// forwarding counter increments, the log generation), batch.go (atomic
// batches: intents, the decision on the batch's record, resolution, the
// readers' lookups and the sweeper), batchgc.go (collecting batch records
// and aborted markers, where Config.BatchRetention is set), paxos.go (the proposer's
// effects: ballots, acceptors asked, sending, backoff, commit) and
// acceptor.go (the acceptor's, and its side of Paxos repair:
// repair.Node), peers.go (sending to a peer, and calls:
// requests to one peer that want one answer), stream.go (the node's
// side of streaming: catch-up's sources, anti-entropy's rounds, and
// stream.Node), and the effects of the ring's life, whose pure
// parts and design are node/movement's: membership.go (gossip, the view,
// the node's phase), lifecycle.go (the node's own life: Life, its join
// and its leave), move.go (the movement lock, taken and given back),
// remove.go and rebuild.go; grave.go (the tombstone rule, and the
// node's side of node/grave's Driver: grave.Node); then compact.go, probe.go and
// mutant*.go (rare-state counters and planted bugs for the simulator).
// lint_test.go holds every file under node/ to the rules above.
//
// # Paxos: the proposer
//
// Compare-and-set, serial reads and Paxos puts are each a round of
// single-decree Paxos among the key's replicas. node/paxos has the
// acceptor, and the proposer's decisions: a paxos.Round takes the
// acceptors' answers and returns steps (send a phase, commit, reply, fail,
// retry, start over), which paxos.go carries out — it picks the ballots,
// the replica groups and the acceptors to ask, sends and times out, draws
// the backoff and the ballot jump, counts and logs. One attempt:
//
//  1. Prepare at a fresh ballot (a leased Lamport stamp: unique, and never
//     reused across a crash) to every replica. A promise carries the
//     acceptor's in-progress proposal, if any, and its committed version,
//     so the read rides on the prepare.
//  2. With a quorum of promises in every replica set (both rings' while a
//     node joins or leaves): if some acceptor holds a proposal newer than
//     every committed version seen, it may have been chosen, so the
//     proposer finishes it first — proposes it at its own ballot and
//     commits it — and then starts over with a new ballot (a read answers
//     with it). Otherwise the current value is the newest committed one: a
//     read answers it, a CAS whose expectation fails answers false, and a
//     CAS that holds, or a put, proposes its value.
//  3. With a quorum of acceptances the value is chosen: the client hears
//     at once, and the commit — a Replicate stamped with the ballot — goes
//     to every replica in the background (hinted if one is down).
//
// So an uncontended CAS is two round trips plus the asynchronous commit.
// A refused ballot (another proposer is ahead) is retried with a new one
// after a randomized, growing backoff, until the request's deadline; then
// the client hears "contention". Once any acceptor may hold the client's
// own value the round never retries it: if it cannot finish, the client
// hears "unknown outcome". Only a refusal that shows the acceptor never
// took the ballot says it does not hold it; an error does not (a
// duplicate of the proposal can be fenced or refused after the first
// copy was taken, lock seed 3939).
//
// A serial read first takes the read-only path (below): it peeks at
// a quorum of acceptor states without a ballot, and runs the round above
// only if some proposal is in progress.
//
// # Paxos: serial reads without a ballot
//
// A full round's prepare raises the floor of every acceptor it reaches, so
// a reader polling a key displaces its writers: a CAS between its prepare
// and its propose is refused by a promise a reader made in between (bug 18,
// a lock's holder unable to release it). A read needs no promise unless
// something is in progress, so a serial read first peeks: it sends Peek to
// every replica paxosGroups names (both rings' while a node joins or
// leaves), and with a quorum of answers in every group it looks at what a
// promise would have shown — the newest committed version V (the largest
// stamp among the answers) and the newest proposal in progress P (the
// largest accepted ballot an acceptor has not seen committed). If no P is
// newer than V, the read answers V: one round trip, no ballot, nothing
// logged. Otherwise, or if too few acceptors answer, it falls back to a
// full round (above), which finishes what is in progress and answers
// with it — exactly today's serial read. The rule is the full round's
// (paxos.Round's promised), applied to states that promise nothing.
//
// Why that is linearizable. Facts it rests on, all from the proposer
// and node/paxos:
//
//   - C (committed means chosen). A store version of a Paxos key is stamped
//     with the ballot of a chosen proposal: commit runs only after a quorum
//     accepted, and read repair, hints and streaming only copy versions.
//     (Plain writes to a serial key void this; the contract forbids mixing.)
//   - D (an acceptance is never forgotten). An acceptor that accepted ballot
//     b answers, at every later moment, with a committed version ≥ b or an
//     accepted ballot ≥ b. It answered "accepted" only once the accept
//     record was synced; replay restores it, compaction keeps it while it
//     is live, and it is dropped only when the store holds a version ≥ b
//     (settleAcceptor). If a crash takes that version back, the accept
//     record is still in the log and replay restores it — unless a
//     compaction has written the version into its synced base first. A
//     Promise relies on the same.
//   - O (writes in ballot order). The chosen values, in ballot order, are
//     the register's successive values, each taking effect when chosen
//     (PAPER §2, the CAS argument).
//
// Let the read be called at c and return at e, let its answers come at
// times t_i in [c, e], and t₀ = min t_i. The read returns V.
//
//  1. Nothing chosen before t₀ is newer than V. A value chosen at ballot b
//     before t₀ was accepted by a quorum of each group it needed; the
//     peeked quorum of that group shares an acceptor with it, which
//     answered after it accepted b, so by D it showed a version ≥ b (then
//     V ≥ b) or an accepted ballot ≥ b (then V ≥ b, since no answer showed
//     a proposal newer than V). So a value chosen before the read began —
//     even one whose commit reached a single replica, or none — is never
//     missed: where it is not committed, an acceptor shows it in progress
//     and the read falls back and finishes it.
//  2. V was chosen before e: it is committed at the replica that showed it,
//     so chosen (C) before that answer.
//  3. So the read can take effect at max(c, time V was chosen), inside
//     [c, e]: by O and 1 no value newer than V is current then. An
//     accepted but unchosen value is never returned, since only committed
//     versions are (the read-uncommitted mutant returns P instead, and the
//     checkers must see it). A proposal in progress no newer than V is
//     ignored exactly as the full round ignores it; a newer one sends the
//     read to the full round.
//  4. Reads are monotonic. If an earlier read returned W before this one
//     began, W was chosen before it returned (2, or the full round chose
//     it), hence before t₀, and by 1 V ≥ W — even if W's commit reached
//     only the replica the earlier read saw it on. Answers that disagree
//     (a replica behind, one that missed the commit) are why V is the
//     maximum, never a vote: the stragglers' state is older, and anything
//     newer that a quorum accepted shows up as P at one of them.
//
// A peek may show state a crash could still take back (an acceptance whose
// sync is in flight, a version at a replica with fsync=none): the former
// only sends the read to a full round; the latter was chosen (C), and D
// keeps it visible through the acceptors that chose it. Each answer is
// read when it arrives, at one instant, so no ordering among the answers
// is assumed.
//
// # Hinted handoff
//
// A write a replica did not acknowledge (it was down, the
// message or its answer was lost, or it refused) is kept by the
// coordinator as a hint and replayed to that replica once the failure
// detector sees it up, until it acknowledges. Hints live in memory and are
// bounded per replica, in bytes (Config.HintBytes) and in time
// (Config.HintWindow: once a replica has taken none of its hints for that
// long, as one down that long, no more are kept for it until it takes
// some, as with Cassandra's max_hint_window); a hint over a bound is dropped
// and counted — catch-up on the replica's restart, read repair and
// anti-entropy cover what hints do not, and a coordinator that crashes
// loses its hints the same way. The queues and their bounds are
// node/coord's Hints; coordinate.go replays them.
package node
