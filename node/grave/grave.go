// Package grave holds the pure parts of a node's tombstone rule (the
// node's grave.go has the rule, PAPER §2 the argument): the record of
// which spans anti-entropy found equal with each peer, and when, that
// tells whether a peer was seen clean of the values older than a
// tombstone (Cleans); the rule's verdict on one tombstone (Rule.Judge);
// the graves a node holds with the sweeps over them, a turn at a time
// (Yard); and the Driver that runs the sweeps, and the forgetting of the
// keys of arcs the node no longer replicates, on the node's loop. The node
// keeps, behind a small interface (Node), the effects beyond its store:
// the log flag of a node that dropped a tombstone, the Paxos floor, the
// durability of what it forgot, timers and stats.
package grave

import (
	"slices"
	"time"

	"github.com/memdb/memdb/clock"
	"github.com/memdb/memdb/net"
	"github.com/memdb/memdb/node/stream"
)

// A Grave is a tombstone a node holds that the rule may drop in time: its
// key, its stamp, and when it came (the node's time since boot; boot
// itself for one replayed from the log).
type Grave struct {
	Key   string
	Stamp clock.Timestamp
	At    time.Duration
}

// A Clean is an anti-entropy comparison that found a span equal with a
// peer: when it began (a node's time since boot), and at what horizon.
type Clean struct {
	At      time.Duration
	Horizon clock.Timestamp
}

// Cleans are, for each peer, the spans last found equal with it on one
// ring epoch — arcs, and the sub-spans anti-entropy narrows an arc to
// (Fanout of them a level, Depth levels below the arcs). A record of
// another epoch counts for nothing: its spans are another ring's cuts.
type Cleans struct {
	Fanout, Depth int
	epoch         uint64
	m             map[uint16]map[net.Span]Clean
}

// Note records that peer's digest of span equalled the node's in a
// comparison c on ring epoch; a later comparison of the span replaces an
// earlier one.
func (cs *Cleans) Note(epoch uint64, peer uint16, span net.Span, c Clean) {
	if cs.m == nil || cs.epoch != epoch {
		cs.m, cs.epoch = make(map[uint16]map[net.Span]Clean), epoch
	}
	m := cs.m[peer]
	if m == nil {
		m = make(map[net.Span]Clean)
		cs.m[peer] = m
	}
	m[span] = c
}

// Seen reports whether peer was seen clean, on ring epoch, for a
// tombstone stamped stamp that came at since, of a key at ring position h
// in arc: a comparison of the arc, or of one of the sub-spans holding h,
// begun at or after since, at a horizon at or past stamp.
func (cs *Cleans) Seen(epoch uint64, peer uint16, arc net.Span, h uint64, stamp clock.Timestamp, since time.Duration) bool {
	m := cs.m[peer]
	if m == nil || cs.epoch != epoch {
		return false
	}
	span := arc
	for depth := 0; ; depth++ {
		if c, ok := m[span]; ok && c.At >= since && !c.Horizon.Less(stamp) {
			return true
		}
		if depth == cs.Depth {
			return false
		}
		subs := stream.Split(span, cs.Fanout)
		i := slices.IndexFunc(subs, func(s net.Span) bool { return stream.Contains([]net.Span{s}, h) })
		if i < 0 {
			return false
		}
		span = subs[i]
	}
}
