package node

import (
	"github.com/memdb/memdb/net"
	"github.com/memdb/memdb/node/paxos"
)

// The read-only path of a serial read, and why it is linearizable: see
// the package doc. Its decisions (peeked, fall back) are node/paxos's.

// readOnly starts serial read r on the read-only path.
func (n *Node) readOnly(r *round) {
	key := r.p.Request().Key
	gs, all := n.paxosGroups(key)
	if !n.reachable(r.conn, r.req, r.p.Request().Kind.String(), gs, all, net.Quorum) {
		r.p.Stop()
		return
	}
	n.stats.PaxosReadOnly++
	var asked []uint16
	for _, id := range all {
		if n.up(id) {
			asked = append(asked, id)
		}
	}
	n.sendPhase(r, r.p.Peek(gs, asked))
}

// logSurvey logs what a quorum of promises (or peeks) of phase s showed.
func (n *Node) logSurvey(s paxos.Send, key []byte, saw *paxos.Survey) {
	if s.Kind == paxos.Peek {
		n.env.Log.Debug("paxos peeked", "key", string(key), "by", saw.By,
			"newest", saw.Newest.Stamp.String(), "in_progress", saw.InProgress.String())
		return
	}
	n.env.Log.Debug("paxos promised", "key", string(key), "ballot", s.Ballot.String(), "by", saw.By,
		"newest", saw.Newest.Stamp.String(), "in_progress", saw.InProgress.String())
}
