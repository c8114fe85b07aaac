package node

import (
	"fmt"

	"github.com/memdb/memdb/net"
	"github.com/memdb/memdb/node/paxos"
)

// The Paxos tally: how the rounds this node coordinated ended, and how
// many ballots each took, counted when a round answers its client. These
// are plain counters in Stats, so the node reads no clock for them: the
// host turns them into Prometheus series (host/metrics.go).

// PaxosOutcome is how a Paxos request ended.
type PaxosOutcome uint8

const (
	// PaxosCommitted: the request's own value was chosen (a cas that
	// swapped, a serial put).
	PaxosCommitted PaxosOutcome = iota
	// PaxosMismatch: a cas whose expected value was not the key's; nothing
	// was proposed.
	PaxosMismatch
	// PaxosRead: a serial read answered.
	PaxosRead
	// PaxosContention: other proposers won every ballot until the
	// deadline; certainly not applied.
	PaxosContention
	// PaxosUnknown: the value may or may not have been chosen.
	PaxosUnknown
	// PaxosUnavailable: too few acceptors could be reached.
	PaxosUnavailable
	// PaxosFailed: any other failure (the node's log broke).
	PaxosFailed

	numPaxosOutcomes
)

func (o PaxosOutcome) String() string {
	switch o {
	case PaxosCommitted:
		return "committed"
	case PaxosMismatch:
		return "mismatch"
	case PaxosRead:
		return "read"
	case PaxosContention:
		return "contention"
	case PaxosUnknown:
		return "unknown"
	case PaxosUnavailable:
		return "unavailable"
	case PaxosFailed:
		return "failed"
	}
	return fmt.Sprintf("outcome(%d)", uint8(o))
}

// PaxosOutcomes lists every outcome, in order.
func PaxosOutcomes() []PaxosOutcome {
	out := make([]PaxosOutcome, numPaxosOutcomes)
	for i := range out {
		out[i] = PaxosOutcome(i)
	}
	return out
}

// PaxosKinds lists the kinds of request a PaxosTally counts, in the order
// of its rows.
func PaxosKinds() []paxos.Kind { return []paxos.Kind{paxos.CAS, paxos.Read, paxos.Put} }

// PaxosMaxBallots is the last row of PaxosTally.Ballots: requests that
// took that many ballots or more are counted there.
const PaxosMaxBallots = 16

// PaxosTally counts the Paxos requests this node coordinated, by kind
// (rows in PaxosKinds' order): how each ended, and how many ballots
// (prepare attempts) each took — 0 for a serial read answered by the
// read-only path. BallotsSum is the ballots of all of them, uncapped.
type PaxosTally struct {
	Outcomes   [3][numPaxosOutcomes]uint64
	Ballots    [3][PaxosMaxBallots + 1]uint64
	BallotsSum [3]uint64
}

// paxosEnded counts round r, which ended with outcome o.
func (n *Node) paxosEnded(r *round, o PaxosOutcome) {
	k := int(r.p.Request().Kind) - int(paxos.CAS)
	if k < 0 || k >= len(n.stats.Paxos.Outcomes) {
		panic(fmt.Sprintf("node: paxos tally: a round of kind %v, not cas, read or put", r.p.Request().Kind))
	}
	t := &n.stats.Paxos
	t.Outcomes[k][o]++
	a := r.p.Attempts()
	t.Ballots[k][min(a, PaxosMaxBallots)]++
	t.BallotsSum[k] += uint64(a)
}

// paxosOutcome is the outcome of a round of kind k that answered with
// reply, or failed (reply nil) with code.
func paxosOutcome(k paxos.Kind, reply net.Message, code net.Code) PaxosOutcome {
	if reply != nil {
		if k == paxos.Read {
			return PaxosRead
		}
		if b, ok := reply.(*net.Bool); ok && !b.Value {
			return PaxosMismatch
		}
		return PaxosCommitted
	}
	switch code {
	case net.CodeContention:
		return PaxosContention
	case net.CodeUnknownOutcome:
		return PaxosUnknown
	case net.CodeUnavailable:
		return PaxosUnavailable
	}
	return PaxosFailed
}
