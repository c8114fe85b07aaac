/**
 * The Java client of memdb, a leaderless replicated in-memory key-value
 * store: the MemDB seed's API ({@link io.memdb.client.MemDbConnections},
 * {@link io.memdb.client.MemDb}) over memdb's binary protocol (version 1,
 * drawn in the repository's net/doc.go). It has no dependencies beyond the
 * JDK.
 *
 * <h2>Slow nodes and hedged reads</h2>
 *
 * <p>A routing client (the default; see {@link
 * io.memdb.client.Options.Builder#routing}) keeps, per node, what it sees
 * of the node's health, as the Go client does: a smoothed latency and mean
 * deviation for each class of request (plain reads, plain writes, Paxos
 * calls — as TCP estimates a round-trip time, RFC 6298), and when it last
 * heard a frame from the node. A request left unanswered past its bound —
 * 8 times the node's mean-plus-four-deviations latency for that class, at
 * least {@link io.memdb.client.Options.Builder#slowAfter slowAfter} (50 ms),
 * at most a quarter of the call's time — marks the node slow, unless
 * something came from the node since the request was sent (then the node
 * is alive and only that request is slow, waiting on replicas or a Paxos
 * round). A slow node is tried after every other node, as a down one is,
 * until any frame comes from it: a late answer, or the answer to a probe
 * (a Ring request every 200 ms while it is slow). So a paused process, a
 * stalled host or a node the client cannot reach costs the calls that were
 * already waiting on it, not a share of every later call. A node is
 * bypassed, never dropped: when every other node fails, a call still tries
 * it. A dial to a node that is not a call's last resort gives up after
 * 500 ms (nothing was sent, so the call moves on).
 *
 * <p>Plain reads (get, contains and counter reads at ONE, QUORUM and ALL)
 * are hedged: a read not answered within its node's mean-plus-four-
 * deviations latency (at least {@link
 * io.memdb.client.Options.Builder#hedgeAfter hedgeAfter}, 2 ms) is sent to
 * the next node of its order as well, once, and the first answer wins; the
 * other is dropped. A hedge that cannot be sent is a failure of its node,
 * never of the call while the first attempt may still answer. Serial reads
 * are not hedged: each runs a Paxos round, and two coordinators of one key
 * would compete for its ballots; a serial read sent to a node that stalls
 * waits for that node until the call's deadline. Writes (set, delete, cas and
 * increments) are never hedged nor resent to another node: a
 * write goes to a healthy node in the first place, and one already sent to
 * a node that then stalls waits for that node's answer until the call's
 * deadline, and is then an {@link io.memdb.client.UnknownOutcomeException}
 * — which it is: the node may yet apply it. (An increment's retries go to
 * the node of its first attempt, slow or not: only that node can tell
 * whether it applied it.)
 *
 * <p>Without routing there is no health tracking and no hedging: a client
 * of one node waits for that node. A negative slowAfter turns tracking
 * off, a negative hedgeAfter hedging.
 */
package io.memdb.client;
