package node

import (
	"time"

	"github.com/memdb/memdb/clock"
	"github.com/memdb/memdb/net"
	"github.com/memdb/memdb/node/grave"
	"github.com/memdb/memdb/node/movement"
	"github.com/memdb/memdb/node/oplog"
	"github.com/memdb/memdb/node/store"
	"github.com/memdb/memdb/node/view"
)

// The tombstone rule: when a node drops a tombstone, giving its memory
// back (and its disk, at the next compaction). PAPER §2 has the argument;
// in short, a replica drops a tombstone X of key k once
//
//  1. X is plain (a register's tombstone, no batch intents or markers),
//     has been in this node's store for the grace (Config.TombstoneGrace)
//     by its own clock, and is expired: stamped at or before this node's
//     clock as it read the grace ago;
//  2. the node is a member on a settled ring (no movement in flight);
//  3. every other replica of k has been seen clean: an anti-entropy
//     comparison with it, begun after X came here, at a horizon at or past
//     X's stamp, found the span holding k equal. Then that replica held X,
//     or held no live version of k as old as X (expired tombstones are left
//     out of the digests on both sides, so one that dropped X and one that
//     still holds it compare equal).
//
// What could bring an older value back after that is closed separately:
// a node forgets the keys of arcs it no longer replicates once a movement
// has settled (grave.Driver.ForgetUnowned: a leftover copy, missed by every check
// above because its holder was no replica, would come back the day that
// node owns the arc again); hints wait at most half the grace
// (coordinate.go); an entry that is an expired tombstone of a key this
// node holds nothing of is not stored, and a register's value stamped at
// or below the node's floor (the newest tombstone it dropped, or its clock
// a grace ago) for a key it holds nothing of is refused if a coordinator's
// write, which its coordinator then stamps again, and left out if a copy
// of an earlier write — a hint, a repair, a commit held back by a pause
// (replica.go: unburied); and a Paxos ballot at or below a dropped
// tombstone's stamp is refused (Acceptors.Below), as is, after a restart,
// any ballot below the clock the log restarts it at.

// The rule's sweeps and the forgetting of keys not replicated are
// node/grave's Driver; what is here is its side of the node (graver),
// and the clocks the rule reads.

// advanceSteady moves the node's steady time on by the time since the
// last tick, but by no more than two ticks' worth and never back: the
// tombstone rule times the grace on it, so that a clock that jumps ahead
// (or a loop that stalls) makes a tombstone look no older than it is
// (tombstone seed 130: a jump of 8.5 s against a grace of 5.5 s dropped a
// tombstone 1.8 s after it came, before a hint of the value it deleted
// landed). A clock that runs fast still counts fast: the rule assumes
// nodes' clocks run at rates within a factor of two of each other
// (PAPER §2).
func (n *Node) advanceSteady() {
	now, every := n.now(), n.cfg.Gossip.ProbeInterval/4
	if n.ticks > 1 {
		n.steady += min(max(now-n.lastTick, 0), 2*every)
	}
	n.lastTick = now
}

// purging reports whether the node drops tombstones at all.
func (n *Node) purging() bool { return n.graves.Purging() }

// noteGrave remembers key's tombstone, stamped stamp, which the rule may
// drop in time, just applied at time at (steady time).
func (n *Node) noteGrave(key []byte, stamp clock.Timestamp, at time.Duration) {
	n.graves.Buried(key, stamp, at)
}

// expired is the node's clock as it read the grace ago (zero if it has not
// run that long, or does not drop tombstones; read every 1/64 of the
// grace): a plain tombstone stamped at or before it is expired, and
// digests leave it out.
func (n *Node) expired() clock.Timestamp {
	if !n.purging() {
		return clock.Timestamp{}
	}
	return n.graceAgo.Ago(n.steady)
}

// noteClean records that peer's digest of span equalled this node's in a
// comparison begun at at on ring epoch, at horizon — if the node is still
// on that ring (the spans are its cuts).
func (n *Node) noteClean(peer uint16, epoch uint64, span net.Span, at time.Duration, horizon clock.Timestamp) {
	if n.purging() && !horizon.IsZero() && epoch == n.view.Epoch {
		n.graves.Cleans.Note(epoch, peer, span, grave.Clean{At: at, Horizon: horizon})
	}
}

// sweepEvery is how often the graves are swept: sweepPeriod of the grace.
func (n *Node) sweepEvery() time.Duration { return n.sweepPeriod(n.cfg.TombstoneGrace) }

// sweepPeriod is how often a yard whose entries wait for window is swept:
// an eighth of it, at most an anti-entropy interval (what a sweep waits on
// is a round), at least a millisecond.
func (n *Node) sweepPeriod(window time.Duration) time.Duration {
	d := window / 8
	if n.cfg.AntiEntropy > 0 {
		d = min(d, n.cfg.AntiEntropy)
	}
	return max(d, time.Millisecond)
}

// noteDropped logs, at the node's first drop, the flag that makes every
// later boot floor the ballots (Acceptors.Below), whatever the grace is
// then: the dropped tombstone left no record. It needs no sync of its
// own: until a compaction's base (which carries the flag) replaces the
// segments, the tombstone's record is in them.
func (n *Node) noteDropped() {
	if n.droppedAny {
		return
	}
	n.droppedAny = true
	if err := n.log.Append(flagRecord(flagDropped, true)); err != nil {
		n.broke(err)
		return
	}
	// A write the log defers (Config.Coalesce) fails later, as Append
	// would have.
	n.log.Written(func(err error) {
		if err != nil {
			n.broke(err)
		}
	})
}

// flagDropped is the log flag of a node that dropped a tombstone.
const flagDropped = "tombstones-dropped"

// settled reports whether the node is a member of a ring with no movement
// under way: every member on it is Normal, so each key's replicas are one
// group (a node gaining arcs in another's join, leave or removal is on the
// write ring only until it settles).
func (n *Node) settled() bool {
	if n.phase() != view.Normal {
		return false
	}
	_, moving := movement.Moving(n.view, uint16(n.cfg.ID))
	return !moving
}

// Tombstones is the number of tombstones the node holds that the rule may
// drop in time, and dropped how many it has dropped since boot.
func (n *Node) Tombstones() (held int, dropped uint64) {
	return n.graves.Graves(), n.stats.TombstonesDropped
}

// graver is the node as its grave.Driver sees it.
type graver struct{ n *Node }

var _ grave.Node = graver{}

func (g graver) View() view.View                 { return g.n.view }
func (g graver) Ready() bool                     { return g.n.life == Member && g.n.settled() && g.n.err == nil }
func (g graver) Member() bool                    { return g.n.life == Member }
func (g graver) Now() time.Duration              { return g.n.now() }
func (g graver) Steady() time.Duration           { return g.n.steady }
func (g graver) Expired() clock.Timestamp        { return g.n.expired() }
func (g graver) Later(d time.Duration, f func()) { g.n.later(d, f) }
func (g graver) Settled(epoch uint64) bool {
	return !g.n.stopped && g.n.view.Epoch == epoch && g.n.settled()
}

func (g graver) Dropped(gr grave.Grave) {
	n := g.n
	n.noteDropped()
	if !n.mutant(MutantTombstoneFloorForgotten) {
		n.acceptors.Below = n.acceptors.Below.Max(gr.Stamp)
	}
	n.stats.TombstonesDropped++
}

func (g graver) WithKeys(f func(keys store.Keys)) { g.n.withKeys(f) }

func (g graver) Forget(recs []oplog.Record, done func()) {
	g.n.stats.KeysForgotten += uint64(len(recs))
	g.n.persist(recs, done)
}
