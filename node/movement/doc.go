// Package movement holds what is pure in the ring's life — joins, leaves,
// removals and rebuilds: the value of the movement lock (Move), the plans
// a movement follows over a view (HandOff: what a leaving member pushes to
// whom; Takes: what a removal asks of each gainer, and of which remaining
// owners; CatchUp and Source: which owner each arc is pulled from;
// Confirmers: whom a ring confirmation asks; Moving and TokenTaken: what
// a join checks first), the steps of a join, a removal and a rebuild as
// lists over a small interface to the node (JoinSteps, RemovalSteps,
// RebuildSteps over Node), and the two drivers of a movement's
// asynchronous steps (Sequence: one named step after another, a failed one
// retried by name; All: one per peer at once), with the named delays
// between tries (RetryProbes, SpreadProbes).
//
// The node does the rest: it takes and gives back the lock with Paxos,
// sends, asks, streams, gossips, logs, arms timers, counts and probes, and
// decides when a task is still valid and what follows it. A leave is not
// a step list: its hand-off and Paxos repair decide, after the repair,
// between three endings by the node's phase (node/lifecycle.go). Nothing
// here reads a clock, draws a random number or sends. What follows is the
// design of the whole.
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
//     lock back; it takes no new requests, and is done (and may be
//     stopped) only once every member on the ring has confirmed the ring
//     in which it left and the writes it coordinated are handed on.
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
// The lock is the value of the system key Key, changed only by Paxos
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
//     dead one must come back, or be removed: node/remove.go).
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
package movement
