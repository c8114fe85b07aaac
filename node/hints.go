package node

import (
	"github.com/memdb/memdb/net"
)

// Hinted handoff: see the package doc. The queues and their bounds are
// node/coord's Hints; here are their effects: stats, probes, and the
// replays to replicas that are up.

// hint keeps e for replica r.
func (n *Node) hint(r uint16, e net.Entry) {
	if r == uint16(n.cfg.ID) {
		return // a local write that failed: this node's log broke
	}
	if !n.hints.Add(r, e, n.now(), n.incarnation(r)) {
		n.stats.HintsDropped++
		n.probe(ProbeHintDropped)
		return
	}
	n.stats.Hints++
}

// replayHints sends each up replica with hints its next batch, unless one
// is in flight. Replicas are visited in id order.
func (n *Node) replayHints() {
	for _, r := range n.hints.Replicas() {
		if n.hints.Busy(r) || !n.up(r) {
			continue
		}
		batch := n.hints.Take(r)
		// A batch unanswered within a quarter of a request timeout goes
		// again at a later round: on a lossy network that is what bounds
		// how long a replica can miss a write.
		n.ask(r, &net.Replicate{Epoch: n.view.Epoch, Entries: batch}, n.cfg.RequestTimeout/4, func(m net.Message) {
			if _, ok := m.(*net.Done); !ok {
				n.hints.Lost(r) // kept for the next round
				return
			}
			restarted := n.hints.Delivered(r, len(batch), n.now(), n.incarnation(r))
			n.stats.HintsDelivered += uint64(len(batch))
			n.probeIf(restarted, ProbeHintAfterRestart)
		})
	}
}

// HintsPending is the number of writes held for replicas that have not
// acknowledged them.
func (n *Node) HintsPending() int { return n.hints.Pending() }
