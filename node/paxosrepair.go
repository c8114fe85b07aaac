package node

import (
	"time"

	"github.com/memdb/memdb/net"
	"github.com/memdb/memdb/node/paxos"
	"github.com/memdb/memdb/node/paxos/repair"
	"github.com/memdb/memdb/node/ring"
	"github.com/memdb/memdb/node/stream"
)

// Paxos repair: node/paxos/repair runs it (its Driver, n.repairs), and
// node/movement's doc has the design. The node's side is its acceptor
// table and its rounds.

// repairer is the node as its repair.Driver sees it.
type repairer struct{ n *Node }

var _ repair.Node = repairer{}

func (r repairer) Epoch() uint64 { return r.n.view.Epoch }
func (r repairer) AskAgain(peer uint16, m net.Message, accepted func(net.Message) bool, done func(net.Message)) {
	r.n.askAgain(peer, m, accepted, done)
}
func (r repairer) Send(peer uint16, id uint64, m net.Message)     { r.n.send(peer, id, m) }
func (r repairer) Later(d time.Duration, f func())                { r.n.later(d, f) }
func (r repairer) Stopped() bool                                  { return r.n.stopped }
func (r repairer) InProgress(spans []net.Span, all bool) [][]byte { return r.n.inProgress(spans, all) }
func (r repairer) Repaired()                                      { r.n.stats.PaxosRepaired++ }
func (r repairer) Acceptor(key []byte) net.Acceptor {
	a, _ := r.n.acceptors.Get(key)
	return net.Acceptor{Promised: a.Promised, Accepted: a.Accepted, Value: a.Value}
}

// Round runs a serial read of key as a full round (never the peek): its
// prepare finds a proposal in progress at any quorum and finishes it.
func (r repairer) Round(key []byte, done func(net.Message)) {
	r.n.coordinatePaxos(internalConn, r.n.await(done), paxos.Request{Kind: paxos.Read, Key: key}, true)
}

// inProgress lists, in key order, the keys in spans on which this node's
// acceptor holds an accepted proposal newer than the committed version —
// or, if all, any state at all (a promise above it, too).
func (n *Node) inProgress(spans []net.Span, all bool) [][]byte {
	var out [][]byte
	for _, k := range n.acceptors.Keys() {
		key := []byte(k)
		if !stream.Contains(spans, ring.Hash(key)) {
			continue
		}
		if s := n.stateOf(key); all || !s.Accepted.IsZero() {
			out = append(out, key)
		}
	}
	return out
}

// paxosKeysFrom answers a peer's PaxosKeys, unless the peer is on another
// ring.
func (n *Node) paxosKeysFrom(from uint16, id uint64, m *net.PaxosKeys) {
	if n.otherRing(from, id, m.Epoch) {
		return
	}
	n.repairs.ServeKeys(from, id, m)
}
