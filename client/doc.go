// Package client is the Go client of memdb.
//
// Dial connects to one of the given node addresses, authenticates with the
// client key (a challenge-response over HMAC-SHA256: the key never crosses
// the wire, and the client checks that the node knows the key too) and
// returns a Client whose methods — Get, Set, Delete, Contains — take a
// context.Context and per-call options such as WithConsistency. A Client is
// safe for concurrent use by many goroutines, and is meant to be shared.
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
//     not have happened. The client never retries a write on its own:
//     read the key, or retry if the write is idempotent.
//   - ErrTimeout: no answer within the call's deadline; a timed-out write is
//     also ErrUnknownOutcome, and context.DeadlineExceeded matches too.
//   - ErrAuth: a node refused the key, or could not prove it knows it.
//   - ErrUnreachable: no address answered.
//   - ErrClosed: the Client was closed.
//
// Any other error a node replies with is a *net.Error (errors.As finds it),
// whose Code says what went wrong.
//
// Keys are 1 to net.MaxKey bytes and values at most net.MaxValue bytes. The
// client checks both before sending: a bad key is net.ErrBadKey, a value
// too large net.ErrTooLarge, and nothing reaches the node.
//
// # Failures and retries
//
// A broken connection is replaced on the next call. A call that cannot
// reach a node tries the next address; a read whose connection breaks after
// it was sent is retried on another connection, since reading twice is
// harmless; a write never is. A node that is shutting down refuses requests
// without acting on them, so those are retried elsewhere too.
//
// Connections are pooled per node address. Today a call goes to the node
// that answered last; once the client learns the ring it will send each
// request to a replica of its key through the same pools.
package client
