package node

import "github.com/memdb/memdb/clock"

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
	keys := n.acceptors.Keys()
	out := make([]AcceptorInfo, 0, len(keys))
	for _, k := range keys {
		a, _ := n.acceptors.Get([]byte(k))
		out = append(out, AcceptorInfo{Key: k, Promised: a.Promised, Accepted: a.Accepted, Value: a.Value})
	}
	return out
}
