package paxos

import (
	"fmt"
	"time"

	"github.com/memdb/memdb/clock"
	"github.com/memdb/memdb/net"
	"github.com/memdb/memdb/node/store"
)

// Kind is what a round does for its client.
type Kind uint8

const (
	CAS  Kind = iota + 1 // compare-and-set
	Read                 // serial read
	Put                  // serial put
)

func (k Kind) String() string {
	switch k {
	case CAS:
		return "cas"
	case Read:
		return "serial read"
	case Put:
		return "serial put"
	}
	return fmt.Sprintf("kind(%d)", uint8(k))
}

// Request is a client's request as a round runs it.
type Request struct {
	Kind     Kind
	Key      []byte
	Contains bool   // read: answer with a Bool (does the key hold a value)
	OldFound bool   // cas: the key must hold Old (or be absent if false)
	Old      []byte // cas
	Value    []byte // cas: the new value; put: the value
}

// Proposer is what a round knows of the node that runs it: who it is and
// its request timeout, for the texts of errors, and the planted bugs
// (the node's mutants) whose hooks are inside the round's decisions.
type Proposer struct {
	ID      uint16
	Timeout time.Duration
	// IgnoreAccepted: proposals in progress that promises show are
	// ignored, and the round proposes its own value over them.
	IgnoreAccepted bool
	// ReadUncommitted: a serial read that finds a proposal in progress
	// answers with it without finishing it.
	ReadUncommitted bool
}

// PhaseKind is the message a phase sends to the acceptors it asks.
type PhaseKind uint8

const (
	Prepare PhaseKind = iota + 1 // net.Prepare at the attempt's ballot
	Propose                      // net.Propose of a value at the attempt's ballot
	Peek                         // net.Peek: a serial read's look without a ballot
)

func (k PhaseKind) String() string {
	switch k {
	case Prepare:
		return "prepare"
	case Propose:
		return "propose"
	case Peek:
		return "peek"
	}
	return fmt.Sprintf("phase(%d)", uint8(k))
}

// Send is a phase the node must send: Kind's message to each of Asked.
// Each answer, or nil for none in time, goes back to Round.Answer with
// Seq.
type Send struct {
	Seq    int
	Kind   PhaseKind
	Ballot clock.Timestamp // prepare, propose
	Value  []byte          // propose
	Ours   bool            // propose: the value is the client's, not one being finished
	Asked  []uint16
}

// Do is what the node must do next for a round.
type Do uint8

const (
	Wait    Do = iota // nothing until more answers come
	SendOut           // send Step.Send
	Reply             // answer the client with Step.Reply; the round is over
	Fail              // answer the client with the error Step.Code, Step.Text; the round is over
	Retry             // back off, then start another attempt (or give up at the deadline)
	Attempt           // start another attempt now, at a new ballot
)

func (d Do) String() string {
	switch d {
	case Wait:
		return "wait"
	case SendOut:
		return "send"
	case Reply:
		return "reply"
	case Fail:
		return "fail"
	case Retry:
		return "retry"
	case Attempt:
		return "attempt"
	}
	return fmt.Sprintf("do(%d)", uint8(d))
}

// Why names the turn a step takes, where the node counts it (stats and
// probes) or the step needs saying more.
type Why uint8

const (
	_ Why = iota
	// FinishOther: a proposal that may have been chosen is proposed again
	// before anything else (Do SendOut).
	FinishOther
	// Chosen: the client's own value was chosen (Do Reply).
	Chosen
	// Preempted: every acceptor refused the client's value (Do Retry).
	Preempted
	// Unknown: the client's value may have been accepted somewhere and
	// cannot be chosen at this ballot (Do Fail).
	Unknown
	// Contention and Unavailable: the deadline came with no ballot won,
	// refused by competitors or not (Do Fail).
	Contention
	Unavailable
	// FallBackInProgress and FallBackSilent: a peek sends a serial read
	// to a full round, because a proposal is in progress or because too
	// few acceptors answered (Do Attempt).
	FallBackInProgress
	FallBackSilent
)

var whys = [...]string{"", "finish other", "chosen", "preempted", "unknown", "contention", "unavailable",
	"fall back: in progress", "fall back: silent"}

func (w Why) String() string {
	if int(w) < len(whys) {
		return whys[w]
	}
	return "why?"
}

// Survey is what a quorum of promises, or of peeked states, showed.
type Survey struct {
	By         []uint16      // the acceptors that answered yes
	Newest     store.Version // the newest committed version
	InProgress clock.Timestamp
}

// Step is a round's output: what the node must carry out, in order —
// commit first if Commit, then Do.
type Step struct {
	Do  Do
	Why Why
	// Commit: the proposal at Chosen's ballot was chosen; write it to
	// every replica of the key, stamped with its ballot.
	Commit bool
	Chosen Proposal
	Send   Send        // SendOut
	Reply  net.Message // Reply
	Code   net.Code    // Fail
	Text   string      // Fail
	Saw    *Survey     // a quorum of promises or peeks was surveyed (for the log)
}

// Proposal is a value at a ballot.
type Proposal struct {
	Ballot clock.Timestamp
	Value  []byte
}
