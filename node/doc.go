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
//	node/coord     the requests the node coordinates: a write's and a
//	               read's state and what each answer decides (reply, repair,
//	               hint, finish), and the hint queues with their bounds
//	node/paxos     the acceptor table and its durability contract; the
//	               proposer's round (answers in, steps out)
//	node/stream    scans and digests for streaming and anti-entropy
//	node/oplog     the operation log: records, segments, compaction
//	node/ring      the consistent-hashing ring
//	node/gossip    SWIM membership, persisted member records
//	node/nodetest  several real Nodes over a manual network, disk and
//	               clock, driven by text scripts (testdata/)
//
// The files of this package are its effects and protocols: request.go
// (client requests), coordinate.go (the effects of node/coord: the
// table of requests, sending, local applies, timers, hint replays),
// replica.go (a replica's side: applyEntries, fencing), paxos.go (the
// proposer's effects: ballots, acceptors asked, sending, backoff, commit)
// and acceptor.go (the acceptor's), sync.go and repair.go (streaming,
// catch-up, anti-entropy), membership.go, join.go, leave.go, move.go,
// remove.go and rebuild.go (the ring's life), lifecycle.go (the node's
// own life, and the drivers of its multi-step tasks: sequence, one step
// after another; all, one step per peer at once), compact.go, lease.go (Lamport
// stamps under a logged lease), call.go (requests to one peer), probe.go
// and mutant*.go (rare-state counters and planted bugs for the
// simulator). lint_test.go holds every file under node/ to the rules
// above.
//
// # Membership
//
// Gossip (node/gossip) tells who the members are, where they
// listen, whether they are up, and each one's ring version, whose phase
// (node/view) says how it stands on the ring. The node persists every
// member record it learns in its log, so after a restart it knows the
// cluster it was part of — including members that joined while it was
// down, once one push-pull exchange has told it.
//
// The node's own life on the ring:
//   - the first node of a cluster (no seeds, no log) starts normal;
//   - a node with seeds and no place on the ring waits for the movement
//     lock, then turns joining: it takes writes for its future
//     ranges, streams them from their replicas, turns normal when every
//     range has arrived, and gives the lock back;
//   - a node that restarts keeps its phase and catches up on what it missed;
//   - Leave takes the movement lock, turns it leaving, pushes each of its
//     ranges to the nodes that gain them, then turns it left and gives the
//     lock back.
//
// # Range movements
//
// Range movements — joins and leaves — run one at a time across the
// cluster. Decided by gossip alone they race: two nodes joining at once
// each stream the ranges of a ring with both of them on it, and whichever
// turns normal first owns, on the ring without the other, ranges it never
// streamed (PAPER bug 17). So a node takes the movement lock before it
// turns joining or leaving, and gives it back once it is normal or left.
//
// The lock is the value of the system key moveKey, changed only by Paxos
// compare-and-set among that key's replicas, which stays safe
// while the ring changes under it (joint quorums). Its value names the
// movement that holds it — kind, node, and the ring version the node takes
// for it — or "idle". With one movement at a time every ring change is one
// member's step, the ring epochs (gossip's sum of ring versions) form one
// chain, and every view is either the agreed ring or one step from it,
// which joint quorums (node/quorum) bridge.
//
// A holder that dies leaves the lock held. When it comes back it finds its
// own movement and goes on with it. A movement whose node has moved past
// the version it names (it turned normal, or left, and died before it let
// go) is over, and the next mover takes the lock from it. A holder that
// never comes back blocks movements until an operator removes it, as a
// dead joining node blocks range movements in Cassandra.
//
// # Removing a member
//
// Removing a member that will not come back: dead for good, or lost with
// its disk. Its ranges cannot be handed off by it, as a leave does, so the
// node an operator asks (the remover) moves them from their other owners:
//
//   - it takes the movement lock for the member's leave (or, if the member
//     died holding the lock for a movement of its own, that movement), and
//     moves the member to leaving in gossip: from then on writes go to the
//     members that gain its arcs, and reads still count it (as down);
//   - once every other member has confirmed that ring, it asks each gainer
//     to take its new arcs (Take): stream them from one remaining owner,
//     then compare them with every other and pull what differs — a write
//     acknowledged by the dead member and one other owner is on that one
//     only;
//   - it finishes every Paxos proposal in progress on those arcs, with the
//     joint quorums of the movement (the dead member counts as silent);
//   - then it marks the member left, and gives the lock back.
//
// A removed member that comes back finds itself left and stops
// (ErrLeftCluster); a node that crashed mid-removal leaves the lock held
// for the member's leave, and asking any node to remove it again goes on.
// A joining member is simply marked left: its arcs never stopped being
// their old owners'.
//
// # Rebuilding lost state
//
// A node whose disk was wiped or
// replaced (or whose operator moved a corrupt log aside) starts with an
// empty log, like a new node, but the cluster has it on the ring: its peers
// count it among the replicas of its arcs, for reads and as a Paxos
// acceptor. Serving from the empty store would let a quorum read miss an
// acknowledged write, and answering prepares with no memory of the
// promises and acceptances it made would let two values be chosen for a
// key (CASSANDRA-12126's class again). So:
//
//   - A node with seeds whose log never had it on the ring (fresh) answers
//     nothing about its data or its acceptors (serving) — reads, syncs,
//     digests, Paxos — until it knows where it stands.
//   - If gossip then says it is a normal or leaving member, which only a
//     node that turned normal itself could be, its state was lost: it logs
//     the rebuilding flag (first, so that a crash from here on resumes the
//     rebuild rather than serving) and keeps refusing. Writes, commits and
//     hints it takes as usual: storing them is always safe.
//   - It streams every arc it replicates from their owners; then asks
//     every other owner for the acceptor state of every key of those arcs
//     that has any, and takes over, per key, the highest promise and the
//     highest accepted proposal among the answers; then compares every arc
//     with every owner and pulls what differs (values committed on one
//     owner only). Every owner must answer, even one declared dead: one
//     that holds the only other copy of a promise cannot be skipped (a
//     dead one must come back, or be removed: remove.go).
//   - Then it clears the flag and serves, and settles as a node that
//     restarted would (a leave it was making goes on).
//
// Why taking the others' acceptor state over is safe and enough: every
// promise or acceptance this node gave was part of a quorum, so at least
// one other owner gave the same (or has since moved past it: a higher
// promise, or a committed version the reconcile brings here). The highest
// promise among all of them is therefore at least every ballot this node
// may have promised, and a proposal that was chosen with its acceptance
// is among the others' acceptances (or committed). Reporting another
// acceptor's real acceptance as its own adds no proposal to the system,
// and a higher promise only makes it refuse more. No Paxos round is run,
// so it works at any replication factor of 2 and up, and a hot key does
// not hold it back.
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
// hears "unknown outcome".
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
// # Paxos repair
//
// Streaming copies store versions, not acceptor state: a
// value chosen by a quorum of a key's old replicas whose commit reached
// none of them lives only in their acceptances, and once the key's replica
// set has changed, a quorum of the new set need not include any of them
// (the class of bug of CEP-14 and CASSANDRA-12126). So before a movement
// completes — before a joining node turns normal, before a leaving node
// turns left — the moving node asks every owner of the arcs that change
// hands which keys there have a proposal in progress (PaxosKeys), and
// finishes each with a full Paxos round: while the movement runs, a round
// needs a quorum of the old replicas and one of the new (joint quorums),
// so it sees the in-progress value wherever it was chosen, proposes it
// again and commits it to every replica, the moving node's new peers too.
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
