package client

import (
	"errors"
	"fmt"

	"github.com/memdb/memdb/net"
)

// The errors a Client returns, wrapped with context. Test with errors.Is.
var (
	// ErrNotFound means Get found no live value for the key. It is an
	// answer, not a failure of the store.
	ErrNotFound = errors.New("key not found")
	// ErrUnknownOutcome means a write was sent and no answer says whether
	// it happened: the call timed out or its connection broke after the
	// request left, or the node itself timed out waiting for replicas. The
	// client does not retry it — except an increment, which it retries at
	// the same node until the call's deadline (see Incr) before it returns
	// ErrUnknownOutcome.
	ErrUnknownOutcome = errors.New("outcome unknown")
	// ErrContention means a CAS, or a serial read or write, lost to other
	// proposers of the same key until the node gave up (the node's
	// Contention code). Unlike ErrUnknownOutcome, it certainly did not take
	// effect: calling again is safe.
	ErrContention = errors.New("contention")
	// ErrQuorum means not enough replicas answered for the consistency
	// level; nothing was written (the node's Unavailable code).
	ErrQuorum = errors.New("quorum not reached")
	// ErrAuth means a node refused the client key, or answered without
	// proving that it knows the key.
	ErrAuth = errors.New("auth refused")
	// ErrTLS means TLS could not be agreed with a node: it serves TLS and
	// Options.TLS is nil, or the reverse, or a certificate did not verify
	// on either side. Errors that wrap it wrap ErrAuth too.
	ErrTLS = errors.New("TLS not agreed")
	// ErrUnreachable means no address could be connected to and
	// authenticated with, or every node that was tried is shutting down.
	ErrUnreachable = errors.New("unreachable")
	// ErrTimeout means no answer came within the call's deadline. A
	// timed-out write is ErrUnknownOutcome as well.
	ErrTimeout = errors.New("timeout")
	// ErrClosed means the Client was closed.
	ErrClosed = errors.New("client closed")
	// ErrWrongKind means the key holds another kind of value than the
	// call works on: Incr, Decr or Counter of a key holding a plain value,
	// or Get, Set, Delete (or CAS) of a key holding a counter (the node's
	// WrongKind code). Nothing was changed.
	ErrWrongKind = errors.New("wrong kind of value")
	// ErrZeroDelta means Incr or Decr was given a delta of 0, which the
	// client refuses before sending anything (a node refuses it too): to
	// read a counter, call Counter.
	ErrZeroDelta = errors.New("delta 0 changes nothing (read a counter with Counter)")
	// ErrOverflow means an increment would take a counter out of the range
	// of an int64 (the node applied nothing), or Decr was given
	// math.MinInt64, whose negation is not an int64 (nothing was sent).
	ErrOverflow = errors.New("int64 overflow")
	// ErrAborted: a batch was aborted; none of its writes applied, nor
	// ever will (Batch).
	ErrAborted = errors.New("batch aborted")
)

// errConnLost is the reason calls fail when their connection breaks.
var errConnLost = errors.New("connection lost")

// errNotSent wraps the error of a connection that broke before a request
// could be queued on it: the request certainly did not reach the node.
var errNotSent = errors.New("request not sent")

// replyError turns an Error frame into the error a call returns: the
// *net.Error itself, classified by the sentinel its code maps to.
func replyError(e *net.Error) error {
	switch e.Code {
	case net.CodeUnavailable:
		return &codeError{ErrQuorum, e}
	case net.CodeUnknownOutcome:
		return &codeError{ErrUnknownOutcome, e}
	case net.CodeContention:
		return &codeError{ErrContention, e}
	case net.CodeAuth:
		return &codeError{ErrAuth, e}
	case net.CodeWrongKind:
		return &codeError{ErrWrongKind, e}
	case net.CodeOverflow:
		return &codeError{ErrOverflow, e}
	}
	return e
}

// codeError is a node's error classified by one of this package's
// sentinels; both match errors.Is and errors.As. Its message is the
// sentinel's, then the node's, so the classification is not said twice.
type codeError struct {
	sentinel error
	node     *net.Error
}

func (e *codeError) Error() string   { return e.sentinel.Error() + ": " + e.node.Message }
func (e *codeError) Unwrap() []error { return []error{e.sentinel, e.node} }

// keyString renders a key for an error message, shortened if long.
func keyString(key string) string {
	const max = 40
	if len(key) > max {
		return fmt.Sprintf("%q…(%d bytes)", key[:max], len(key))
	}
	return fmt.Sprintf("%q", key)
}

// errReplaced closes a broken connection once a new one takes its slot.
var errReplaced = errors.New("connection replaced")
