package net

import (
	"errors"
	"fmt"
)

// Code classifies an Error frame. Values are part of the protocol.
type Code uint16

const (
	// CodeMalformed: the frame could not be decoded. The connection closes.
	CodeMalformed Code = 1
	// CodeTooLarge: a frame, key or value exceeds its limit.
	CodeTooLarge Code = 2
	// CodeBadKey: the key is empty or too long.
	CodeBadKey Code = 3
	// CodeAuth: authentication failed or was skipped. The connection closes.
	CodeAuth Code = 4
	// CodeUnknownKind: the message kind is not one this node serves.
	CodeUnknownKind Code = 5
	// CodeUnavailable: the request could not be served, and nothing was
	// written: not enough replicas answered, the disk is full, or the node
	// must restart before it takes writes again.
	CodeUnavailable Code = 6
	// CodeUnknownOutcome: the request timed out after it may have taken
	// effect; a write may or may not have happened.
	CodeUnknownOutcome Code = 7
	// CodeInternal: a bug or an I/O failure in the node.
	CodeInternal Code = 8
	// CodeUnsupported: a well-formed request this node cannot serve.
	CodeUnsupported Code = 9
	// CodeShuttingDown: the node is stopping and takes no new requests.
	CodeShuttingDown Code = 10
	// CodeContention: a compare-and-set or serial request lost to
	// competing proposers until its deadline, and certainly did not take
	// effect; it is safe to retry.
	CodeContention Code = 11
	// CodeStaleRing: a peer's request was made on an older ring epoch than
	// the node's, so it may have gone to the wrong replicas; nothing was
	// done. Only peers send it: the coordinator learns the newer ring and
	// sends the request again there.
	CodeStaleRing Code = 12
	// CodeWrongKind: the key holds another kind of value than the request
	// is for (an increment of a key holding a value, a get of a counter);
	// nothing was done.
	CodeWrongKind Code = 13
	// CodeOverflow: an increment would take a counter's value out of the
	// range of a signed 64-bit integer; nothing was applied.
	CodeOverflow Code = 14
	// CodeAborted: a batch was aborted; none of its writes applied, nor
	// ever will.
	CodeAborted Code = 15
	// CodeStaleStamp: a coordinator's write was stamped at or below the
	// replica's tombstone floor for a key the replica holds nothing of (a
	// tombstone above it may have been dropped there: node/grave.go);
	// nothing was done. Only peers send it: the coordinator stamps the
	// write again, above the clock the refusal carries, and resends it.
	CodeStaleStamp Code = 16
)

var codeNames = map[Code]string{
	CodeMalformed: "malformed", CodeTooLarge: "too large", CodeBadKey: "bad key",
	CodeAuth: "auth refused", CodeUnknownKind: "unknown command", CodeUnavailable: "unavailable",
	CodeUnknownOutcome: "unknown outcome", CodeInternal: "internal", CodeUnsupported: "unsupported",
	CodeShuttingDown: "shutting down", CodeContention: "contention", CodeStaleRing: "stale ring",
	CodeWrongKind: "wrong kind", CodeOverflow: "overflow", CodeAborted: "aborted",
	CodeStaleStamp: "stale stamp",
}

func (c Code) String() string {
	if s, ok := codeNames[c]; ok {
		return s
	}
	return fmt.Sprintf("code(%d)", uint16(c))
}

// Errors returned by the codec. Each wraps one of these, so callers test
// with errors.Is and reply with the matching Code.
var (
	// ErrShort means the buffer holds only part of a frame: read more.
	ErrShort = errors.New("incomplete frame")
	// ErrMalformed means the bytes are not a valid frame.
	ErrMalformed = errors.New("malformed frame")
	// ErrChecksum means the frame's CRC does not match its contents.
	ErrChecksum = fmt.Errorf("%w: checksum mismatch", ErrMalformed)
	// ErrTooLarge means a frame, key or value exceeds its limit.
	ErrTooLarge = errors.New("too large")
	// ErrVersion means the frame's protocol version is not one we speak.
	ErrVersion = fmt.Errorf("%w: unsupported protocol version", ErrMalformed)
	// ErrUnknownKind means the frame is intact but its kind is not one we
	// know; the connection can go on after an error reply.
	ErrUnknownKind = errors.New("unknown message kind")
	// ErrBadKey means a key is empty or longer than MaxKey.
	ErrBadKey = errors.New("bad key")
	// ErrAuth means the other side of a handshake refused our key, or
	// could not prove that it holds the key itself (Handshake).
	ErrAuth = errors.New("auth refused")
)

// CodeOf returns the error code to reply with for a codec or validation error.
func CodeOf(err error) Code {
	switch {
	case errors.Is(err, ErrTooLarge):
		return CodeTooLarge
	case errors.Is(err, ErrBadKey):
		return CodeBadKey
	case errors.Is(err, ErrUnknownKind):
		return CodeUnknownKind
	case errors.Is(err, ErrAuth):
		return CodeAuth
	case errors.Is(err, ErrMalformed):
		return CodeMalformed
	}
	return CodeInternal
}
