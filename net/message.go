package net

import (
	"fmt"

	"github.com/memdb/memdb/clock"
)

// Kind names a message type on the wire. Values are part of the protocol:
// never renumber one, only add.
type Kind uint8

const (
	KindInvalid Kind = 0

	// Handshake (see doc.go).
	KindChallenge Kind = 1
	KindAuth      Kind = 2
	KindAuthOK    Kind = 3

	// Client requests.
	KindGet      Kind = 10
	KindSet      Kind = 11
	KindDelete   Kind = 12
	KindContains Kind = 13
	KindCAS      Kind = 14
	// KindIncr and KindGetCounter are the counter requests (counter.go).
	KindIncr       Kind = 15
	KindGetCounter Kind = 16
	// KindBatch writes several keys atomically (batch.go).
	KindBatch Kind = 17

	// Admin requests.
	KindCompact Kind = 20
	KindRing    Kind = 21
	// About the host, not the store (info.go).
	KindInfo      Kind = 30
	KindInfoReply Kind = 50

	// Responses.

	KindValue    Kind = 40
	KindDone     Kind = 41
	KindBool     Kind = 42
	KindError    Kind = 43
	KindRingInfo Kind = 44
	// KindCounterValue answers Incr and GetCounter.
	KindCounterValue Kind = 45

	// Between nodes (peer.go).
	KindGossip    Kind = 60
	KindReplicate Kind = 61
	KindRead      Kind = 62
	KindSync      Kind = 63
	KindSyncBatch Kind = 64
	KindPrepare   Kind = 65
	KindPromise   Kind = 66
	KindPropose   Kind = 67
	KindAccepted  Kind = 68
	// The read-only path of a serial read (paxos.go).
	KindPeek          Kind = 69
	KindAcceptorState Kind = 70
	// Anti-entropy (digest.go).
	KindDigest      Kind = 71
	KindDigestReply Kind = 72
	// Paxos repair of moved arcs (paxosrepair.go).
	KindPaxosKeys      Kind = 73
	KindPaxosKeysReply Kind = 74
	// Removal of a dead member (take.go).
	KindTake Kind = 75
	// KindState answers Read with an entry (a counter's state).
	KindState Kind = 76
	// KindDigestBefore is Digest leaving out versions past a horizon.
	KindDigestBefore Kind = 77
	// KindHolds asks whether a replica holds a batch's write durably.
	KindHolds Kind = 78
)

var kindNames = map[Kind]string{
	KindChallenge: "challenge", KindAuth: "auth", KindAuthOK: "auth-ok",
	KindGet: "get", KindSet: "set", KindDelete: "delete", KindContains: "contains", KindCompact: "compact",
	KindValue: "value", KindDone: "done", KindBool: "bool", KindError: "error",
	KindRing: "ring", KindRingInfo: "ring-info", KindGossip: "gossip", KindReplicate: "replicate",
	KindRead: "read", KindSync: "sync", KindSyncBatch: "sync-batch", KindCAS: "cas",
	KindPrepare: "prepare", KindPromise: "promise", KindPropose: "propose", KindAccepted: "accepted",
	KindPeek: "peek", KindAcceptorState: "acceptor-state", KindDigest: "digest", KindDigestReply: "digest-reply",
	KindPaxosKeys: "paxos-keys", KindPaxosKeysReply: "paxos-keys-reply", KindTake: "take",
	KindIncr: "incr", KindGetCounter: "counter", KindBatch: "batch", KindCounterValue: "counter-value", KindState: "state", KindDigestBefore: "digest-before", KindHolds: "holds",
	KindInfo: "info", KindInfoReply: "info-reply",
}

func (k Kind) String() string {
	if s, ok := kindNames[k]; ok {
		return s
	}
	return fmt.Sprintf("kind(%d)", uint8(k))
}

// Message is one decoded frame body. The set of messages is closed: every
// implementation lives in this package, next to its codec.
type Message interface {
	Kind() Kind
	// appendBody appends the body encoding to b.
	appendBody(b []byte) []byte
	// decodeBody fills the message from d; byte slices may alias d's buffer.
	decodeBody(d *decoder)
}

// Describe says what answer m is, for logs: its kind, an error's code
// and message, or "no answer" for nil (a call that timed out).
func Describe(m Message) string {
	switch m := m.(type) {
	case nil:
		return "no answer"
	case *Error:
		return m.Code.String() + ": " + m.Message
	}
	return m.Kind().String()
}

// Frame is what crosses a connection: a message with the request id it
// belongs to and the sender's Lamport clock. Every frame carries a clock, so
// a receiver's clock is never behind what a sender has seen; a client sends
// the highest timestamp it has seen (its session), which is how a client's
// later write wins over its earlier one even through another node.
type Frame struct {
	ID    uint64
	Clock clock.Timestamp
	Msg   Message
}

// Consistency is how many replicas must answer a request.
type Consistency uint8

const (
	// Default leaves the choice to the node (quorum).
	Default Consistency = 0
	One     Consistency = 1
	Quorum  Consistency = 2
	All     Consistency = 3
	// Serial is linearizable, through Paxos among the key's replicas: a
	// serial read, or a Set made by a Paxos round (a Paxos put).
	Serial Consistency = 4
)

func (c Consistency) String() string {
	switch c {
	case Default:
		return "default"
	case One:
		return "one"
	case Quorum:
		return "quorum"
	case All:
		return "all"
	case Serial:
		return "serial"
	}
	return fmt.Sprintf("consistency(%d)", uint8(c))
}

// ParseConsistency parses the names String returns (except "default").
func ParseConsistency(s string) (Consistency, error) {
	for c := One; c <= Serial; c++ {
		if c.String() == s {
			return c, nil
		}
	}
	return Default, fmt.Errorf("unknown consistency level %q (want one, quorum, all or serial)", s)
}

// Role says who is authenticating: a client, or a peer node.
type Role uint8

const (
	RoleClient Role = 1
	RolePeer   Role = 2
)

func (r Role) String() string {
	switch r {
	case RoleClient:
		return "client"
	case RolePeer:
		return "peer"
	}
	return fmt.Sprintf("role(%d)", uint8(r))
}

// NonceSize is the size of each side's handshake nonce; MACSize of an HMAC-SHA256.
const (
	NonceSize = 16
	MACSize   = 32
)

// Challenge is the first frame a server sends on every connection.
type Challenge struct {
	Version uint8  // highest protocol version the server speaks
	Node    uint16 // the server's node id
	Nonce   [NonceSize]byte
}

// Auth answers a Challenge: the client proves it knows the key for Role.
type Auth struct {
	Role  Role
	Node  uint16 // the peer's node id; 0 for clients
	Nonce [NonceSize]byte
	MAC   [MACSize]byte
}

// AuthOK accepts an Auth; its MAC proves the server knows the key too.
type AuthOK struct {
	MAC [MACSize]byte
}

// Get reads a key.
type Get struct {
	Level Consistency
	Key   []byte
}

// Set writes a key.
type Set struct {
	Level Consistency
	Key   []byte
	Value []byte
}

// Delete removes a key (it writes a tombstone).
type Delete struct {
	Level Consistency
	Key   []byte
}

// Contains asks whether a key has a live value.
type Contains struct {
	Level Consistency
	Key   []byte
}

// Compact asks the node to compact its operation log now. It is answered
// with Done once the new log is durable.
type Compact struct{}

// Value answers Get. Found is false for an absent or deleted key; Version is
// the timestamp of the write read (zero if the key was never written).
type Value struct {
	Found   bool
	Version clock.Timestamp
	Value   []byte
}

// Done answers a write; Version is the timestamp the write was stamped with.
type Done struct {
	Version clock.Timestamp
}

// Bool answers Contains.
type Bool struct {
	Value bool
}

// Error answers any request that failed. Code says what kind of failure it
// was; Message is for people.
type Error struct {
	Code    Code
	Message string
}

func (e *Error) Error() string { return e.Code.String() + ": " + e.Message }

// Kind methods.
func (*Challenge) Kind() Kind { return KindChallenge }
func (*Auth) Kind() Kind      { return KindAuth }
func (*AuthOK) Kind() Kind    { return KindAuthOK }
func (*Get) Kind() Kind       { return KindGet }
func (*Set) Kind() Kind       { return KindSet }
func (*Delete) Kind() Kind    { return KindDelete }
func (*Contains) Kind() Kind  { return KindContains }
func (*Compact) Kind() Kind   { return KindCompact }
func (*Value) Kind() Kind     { return KindValue }
func (*Done) Kind() Kind      { return KindDone }
func (*Bool) Kind() Kind      { return KindBool }
func (*Error) Kind() Kind     { return KindError }

// newMessage returns an empty message of kind k, or nil if k is unknown.
func newMessage(k Kind) Message {
	switch k {
	case KindChallenge:
		return &Challenge{}
	case KindAuth:
		return &Auth{}
	case KindAuthOK:
		return &AuthOK{}
	case KindGet:
		return &Get{}
	case KindSet:
		return &Set{}
	case KindDelete:
		return &Delete{}
	case KindContains:
		return &Contains{}
	case KindCompact:
		return &Compact{}
	case KindValue:
		return &Value{}
	case KindDone:
		return &Done{}
	case KindBool:
		return &Bool{}
	case KindError:
		return &Error{}
	case KindRing:
		return &Ring{}
	case KindRingInfo:
		return &RingInfo{}
	case KindGossip:
		return &Gossip{}
	case KindReplicate:
		return &Replicate{}
	case KindRead:
		return &Read{}
	case KindSync:
		return &Sync{}
	case KindSyncBatch:
		return &SyncBatch{}
	case KindCAS:
		return &CAS{}
	case KindPrepare:
		return &Prepare{}
	case KindPromise:
		return &Promise{}
	case KindPropose:
		return &Propose{}
	case KindAccepted:
		return &Accepted{}
	case KindPeek:
		return &Peek{}
	case KindHolds:
		return &Holds{}
	case KindAcceptorState:
		return &AcceptorState{}
	case KindDigest:
		return &Digest{}
	case KindDigestReply:
		return &DigestReply{}
	case KindPaxosKeys:
		return &PaxosKeys{}
	case KindPaxosKeysReply:
		return &PaxosKeysReply{}
	case KindTake:
		return &Take{}
	case KindIncr:
		return &Incr{}
	case KindGetCounter:
		return &GetCounter{}
	case KindBatch:
		return &Batch{}
	case KindCounterValue:
		return &CounterValue{}
	case KindState:
		return &State{}
	case KindDigestBefore:
		return &DigestBefore{}
	case KindInfo:
		return &Info{}
	case KindInfoReply:
		return &InfoReply{}
	}
	return nil
}
