package node

import (
	"slices"
	"time"

	"github.com/memdb/memdb/net"
)

// Hinted handoff: see the package doc. hintBatch is about how many bytes
// one replay of hints carries.
const hintBatch = 256 << 10

type hintQueue struct {
	entries  []net.Entry
	bytes    int
	inflight bool // a batch is being replayed
	// inc is the replica's gossip incarnation when the oldest entry was
	// queued (for the hint-after-restart probe); since is when the queue
	// last started or last had a batch taken, by the node's clock.
	inc   uint64
	since time.Duration
}

func entrySize(e net.Entry) int { return len(e.Key) + len(e.Value) + 16 }

// hint keeps e for replica r.
func (n *Node) hint(r uint16, e net.Entry) {
	if r == uint16(n.cfg.ID) {
		return // a local write that failed: this node's log broke
	}
	q := n.hints[r]
	if q == nil {
		q = &hintQueue{}
		n.hints[r] = q
	}
	if q.bytes+entrySize(e) > n.cfg.HintBytes || len(q.entries) > 0 && n.now()-q.since > n.cfg.HintWindow {
		n.stats.HintsDropped++
		n.probe(ProbeHintDropped)
		return
	}
	if len(q.entries) == 0 {
		q.inc, q.since = n.incarnation(r), n.now()
	}
	q.entries = append(q.entries, e)
	q.bytes += entrySize(e)
	n.stats.Hints++
}

// replayHints sends each up replica with hints its next batch, unless one
// is in flight. Replicas are visited in id order.
func (n *Node) replayHints() {
	targets := make([]uint16, 0, len(n.hints))
	for r := range n.hints {
		targets = append(targets, r)
	}
	slices.Sort(targets)
	for _, r := range targets {
		q := n.hints[r]
		if len(q.entries) == 0 && !q.inflight {
			delete(n.hints, r)
			continue
		}
		if q.inflight || !n.up(r) {
			continue
		}
		count, size := 0, 0
		for _, e := range q.entries {
			if count > 0 && size+entrySize(e) > hintBatch {
				break
			}
			count++
			size += entrySize(e)
		}
		q.inflight = true
		batch := slices.Clone(q.entries[:count])
		// A batch unanswered within a quarter of a request timeout goes
		// again at a later round: on a lossy network that is what bounds
		// how long a replica can miss a write.
		n.ask(r, &net.Replicate{Epoch: n.view.Epoch, Entries: batch}, n.cfg.RequestTimeout/4, func(m net.Message) {
			q.inflight = false
			if _, ok := m.(*net.Done); !ok {
				return // kept for the next round
			}
			for _, e := range q.entries[:count] {
				q.bytes -= entrySize(e)
			}
			q.entries = slices.Delete(q.entries, 0, count)
			q.since = n.now() // the replica takes hints again
			n.stats.HintsDelivered += uint64(count)
			n.probeIf(n.incarnation(r) > q.inc, ProbeHintAfterRestart)
			q.inc = n.incarnation(r) // what is left was queued by now
		})
	}
}

// HintsPending is the number of writes held for replicas that have not
// acknowledged them.
func (n *Node) HintsPending() int {
	c := 0
	for _, q := range n.hints {
		c += len(q.entries)
	}
	return c
}
