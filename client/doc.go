// Package client is the Go client of memdb.
//
// Dial connects to one of the given node addresses, authenticates with the
// client key (a challenge-response over HMAC-SHA256: the key never crosses
// the wire, and the client checks that the node knows the key too) and
// returns a Client whose methods — Get, Set, Delete, Contains, CAS, Incr,
// Decr, Counter — take a context.Context and per-call options such as
// WithConsistency. A Client
// is safe for concurrent use by many goroutines, and is meant to be shared.
//
// # Compare-and-set and serial consistency
//
// CAS(key, old, new) writes new only if key holds old (old nil: only if
// key is absent), and says whether it did. The key's replicas agree on it
// through a Paxos round, so it is linearizable. A Get or Contains with
// WithConsistency(net.Serial) reads through such a round, and a Set at
// Serial is a Paxos put; those are linearizable with CAS on the same key.
// Mixing them with plain (one, quorum, all) writes of the key is not.
//
// # Counters
//
// Incr(key, delta) adds delta to the counter key and returns its value
// just after; Decr subtracts; Counter reads it (0 for a key never
// incremented). A counter is its own kind of value: Incr or Counter of a
// key that holds a plain value, and Get, Set or Delete of a counter, fail
// with ErrWrongKind. Counters take the levels one, quorum and all; a
// counter call at serial fails before anything is sent. A delta of 0 is
// refused before anything is sent too (ErrZeroDelta): read with Counter.
//
// An increment is never applied twice, however often it is sent. Each Incr
// call carries an operation id — a session id the client draws at random
// (crypto/rand) when it is made, and a sequence number per call — that
// every attempt of the call repeats, with Attempt counting the attempts
// and First the session clock when the call began (the node judges a
// retry by how old it is). Unlike every other
// write, an increment whose outcome is unknown is retried by the client:
// an attempt unanswered for a quarter of the time the call has left (at
// least 50 ms), whose connection broke after it was sent, or answered
// CodeUnknownOutcome (or CodeShuttingDown, after the first) is sent again,
// after a short backoff when it ended early, reconnecting if needed, until
// the call's deadline; then the call fails with ErrUnknownOutcome. Every
// attempt goes to the node that got the first one — never another, even
// when health tracking finds it slow — because that node can tell whether
// it applied the operation (and answers with the first result) or never
// saw it (and applies it); another node could only answer unknown. The
// first attempt alone may move on to another node, when it could not be
// sent at all (its node refused the connection, or was shutting down).
// Increments are never hedged. Counter is a read, retried and hedged as
// Get is.
//
// # Pipelining
//
// Every request carries an id and every reply echoes it, so one connection
// carries many requests at once: callers enqueue encoded frames, a writer
// goroutine sends everything queued in one write, and a reader goroutine
// hands each reply to the caller waiting for its id. Options.Conns opens
// more connections per node for workloads that saturate one.
//
// # Sessions
//
// A Client is one session: every request carries the highest Lamport
// timestamp the client has seen in any reply (frame clocks and the versions
// of values read and written). A node stamps a write after every timestamp
// it has observed, so a client's later write always wins over its earlier
// ones, even when another node coordinates it.
//
// # Errors
//
// Methods return the documented sentinels, wrapped with context; test them
// with errors.Is:
//
//   - ErrNotFound: Get found no value. It is an answer, not a failure.
//   - ErrQuorum: not enough replicas answered; nothing was written.
//   - ErrUnknownOutcome: a write was sent but no answer came (timeout, lost
//     connection, or the node itself could not tell). The write may or may
//     not have happened. The client never retries a write on its own
//     (but for Incr, whose retries are exactly-once: see Counters): read
//     the key, or retry if the write is idempotent.
//   - ErrContention: a CAS or serial call lost to other proposers of its
//     key. It did not take effect, so calling again is safe.
//   - ErrTimeout: no answer within the call's deadline; a timed-out write is
//     also ErrUnknownOutcome, and context.DeadlineExceeded matches too.
//   - ErrAuth: a node refused the key, or could not prove it knows it.
//   - ErrUnreachable: no node the call tried answered.
//   - ErrClosed: the Client was closed.
//   - ErrWrongKind: the key holds a counter and the call wants a plain
//     value, or the other way round. Nothing was changed.
//   - ErrZeroDelta, ErrOverflow: Incr or Decr refused its delta before
//     sending anything.
//
// Any other error a node replies with is a *net.Error (errors.As finds it),
// whose Code says what went wrong.
//
// Keys are 1 to net.MaxKey bytes and values (a CAS's old and new included)
// at most net.MaxValue bytes. The client checks both before sending: a bad
// key is net.ErrBadKey, a value too large net.ErrTooLarge, and nothing
// reaches the node.
//
// # Routing
//
// Dial asks the first node of Options.Addrs that answers for the ring (the
// Ring request: the replication factor, the ring's members and tokens, and
// every member's address), and the client asks again every
// Options.RingRefresh and whenever a call cannot reach the node it chose.
// Each call about a key then goes to the first reachable node of the key's
// preference list, which coordinates it without forwarding it: the first
// replica, else the next, else any node the client knows. A node whose
// last dial failed is tried after the others for a second, so that a dead
// host costs one call its deadline, not every call. Compact, which has no
// key, goes where it would without routing.
//
// # Slow nodes and hedged reads
//
// A routing client also keeps, per node, what it sees of the node's
// health: a smoothed latency and mean deviation for each class of request
// (plain reads, plain writes, Paxos calls — as TCP estimates a round-trip
// time, RFC 6298), and when it last heard a frame from the node. A request
// left unanswered past its bound — 8 times the node's mean-plus-four-
// deviations latency for that class, at least Options.SlowAfter (50 ms),
// at most a quarter of the call's time — marks the node slow, unless
// something came from the node since the request was sent (then the node
// is alive and only that request is slow, waiting on replicas or a Paxos
// round). A slow node is tried after every other node, as a down one is,
// until any frame comes from it: a late answer, or the answer to a probe
// (a Ring request every 200 ms while it is slow). So a paused process, a
// stalled host or a node the client cannot reach costs the calls that were
// already waiting on it, not a share of every later call. A node is
// bypassed, never dropped: when every other node fails, a call still tries
// it. A dial to a node that is not a call's last resort gives up after
// 500 ms (nothing was sent, so the call moves on).
//
// Reads (Get and Contains at one, quorum and all) are hedged: a read not
// answered within its node's mean-plus-four-deviations latency (at least
// Options.HedgeAfter, 2 ms) is sent to the next node of its order as
// well, once, and the first answer wins; the other is dropped. The hedge
// goes over a live connection to that node, or one dialed in the
// background, so it never delays the first node's answer, and a hedge that
// cannot be sent does not fail the call. Serial reads are not hedged: each
// runs a Paxos round, and two coordinators of one key would compete for
// its ballots, each making the other retry or fail with ErrContention
// (the first answer would win, an error too); a serial read sent to a node
// that stalls waits for that node's answer until the call's deadline.
// Writes are never hedged nor resent: a write goes to a healthy node in
// the first place, and one already sent to a node that then stalls waits
// for that node's answer until the call's deadline, and is then
// ErrUnknownOutcome — which it is: the node may yet apply it.
//
// The binary protocol's ring (RingInfo) carries no liveness, so the
// client does not use the cluster's failure detector; what it sees is
// quicker anyway (the detector suspects a node after about a second).
// Without routing there is no health tracking and no hedging: a client of
// one node waits for that node.
//
// A node that does not serve the ring (CodeUnknownKind), or answers with a
// ring the client cannot use (ErrCorrupt from node/ring, a replication
// factor of 0, no member with an address it can dial), fails neither Dial
// nor any call: the client keeps what it had, Options.Addrs at first. A
// node on an older ring epoch never turns the client back to it.
// Options.NoRouting sends every call to the node that answered last, as a
// client of one node would.
//
// # Failures and retries
//
// A broken connection is replaced on the next call. A call that cannot
// reach a node tries the next one; a read whose connection breaks after it
// was sent is retried on another connection, then on the next replica,
// since reading twice is harmless; a write (a CAS included) never is,
// except an increment, to its own node (see Counters). A node that is
// shutting down refuses requests without acting on them, so those are
// retried elsewhere too.
//
// Connections are pooled per node address, and routing a call is choosing
// its pool; choosing costs about 50 ns (BenchmarkRoute).
package client
