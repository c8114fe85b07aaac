package gossip

import "errors"

// Errors Receive and New return, wrapped with context; test with errors.Is.
var (
	// ErrMalformed: a payload could not be decoded (too short, trailing
	// bytes, an unknown kind, an invalid member record).
	ErrMalformed = errors.New("malformed gossip payload")
	// ErrVersion: a payload of a version this code does not speak.
	ErrVersion = errors.New("unsupported gossip version")
	// ErrSender: the payload's sender record names a node other than the
	// one the transport says sent it, or names this node itself (two nodes
	// configured with one id).
	ErrSender = errors.New("gossip sender mismatch")
	// ErrConfig: New was given an invalid Config or self record.
	ErrConfig = errors.New("invalid gossip config")
)
