package node

import (
	"slices"

	"github.com/memdb/memdb/clock"
)

// AcceptorInfo is one key's Paxos acceptor state as the node holds it in
// memory: the ballot it promised, the proposal it accepted (zero if none)
// and that proposal's value. Keys whose state the stored version subsumes
// have none.
type AcceptorInfo struct {
	Key      string
	Promised clock.Timestamp
	Accepted clock.Timestamp
	Value    []byte
}

// Acceptors returns the node's live acceptor state, in key order, for
// tests and debugging (node/nodetest prints it). Callers must not modify
// the values.
func (n *Node) Acceptors() []AcceptorInfo {
	out := make([]AcceptorInfo, 0, len(n.acceptors))
	for k, a := range n.acceptors {
		out = append(out, AcceptorInfo{Key: k, Promised: a.promised, Accepted: a.accepted, Value: a.value})
	}
	slices.SortFunc(out, func(a, b AcceptorInfo) int {
		switch {
		case a.Key < b.Key:
			return -1
		case a.Key > b.Key:
			return 1
		}
		return 0
	})
	return out
}
