package grave

import (
	"time"

	"github.com/memdb/memdb/clock"
	"github.com/memdb/memdb/node/oplog"
	"github.com/memdb/memdb/node/store"
	"github.com/memdb/memdb/node/view"
)

// Node is what a Driver asks of the node whose tombstones it drops. Every
// method is called on the node's loop, and every callback it takes runs
// there too, in a later turn.
type Node interface {
	// View is the node's view of the ring now.
	View() view.View
	// Ready reports whether the node may begin to drop what it holds: it
	// is a member on a settled ring (every member on it Normal, no
	// movement under way, so each key's replicas are one group) and its
	// log is not broken.
	Ready() bool
	// Settled reports whether the node is still on the settled ring of
	// epoch and not stopped: a sweep or a forgetting under way stops
	// once it is not. Member reports whether it is still a member.
	Settled(epoch uint64) bool
	Member() bool
	// Now is the node's time since boot; Steady is the same as the rule
	// counts it (the node's doc of advanceSteady), and Expired the
	// node's clock as it read the grace ago (zero if it has not run that
	// long).
	Now() time.Duration
	Steady() time.Duration
	Expired() clock.Timestamp
	// Later calls f after d.
	Later(d time.Duration, f func())
	// Dropped does what the node does beyond its store once g's tombstone
	// is dropped from it: the log's flag of a node that dropped one, the
	// floor of the Paxos ballots it accepts, its counts.
	Dropped(g Grave)
	// Forget makes recs (oplog.TypeForget) durable, then calls done; if
	// the log broke, done never runs.
	Forget(recs []oplog.Record, done func())
	// WithKeys calls f with the store's keys in order, in this turn or,
	// when many keys were added since they were last merged, a later one
	// (the merge runs off the loop).
	WithKeys(f func(keys store.Keys))
}

// Slice bounds the graves one turn of a sweep looks at, and the keys one
// turn of a forgetting does.
const Slice = 8192

// A Driver runs the tombstone rule's housekeeping on a node's loop: the
// sweeps that drop the tombstones the rule allows (Rule, Yard), and the
// forgetting of the keys of arcs the node no longer replicates once a
// ring settled (the node's grave.go says why). The node keeps the
// effects beyond its store (Node).
type Driver struct {
	Node  Node
	Store *store.Store
	Self  uint16
	// Grace is the tombstone grace; zero, and the node drops nothing.
	Grace time.Duration
	// Every is how often a sweep may begin.
	Every time.Duration
	// The planted bugs whose hooks are here: Rule's Unverified and
	// StaleClean, and KeepUnowned (MutantKeepUnowned), which forgets
	// nothing.
	Unverified, StaleClean, KeepUnowned bool

	// Cleans are the spans anti-entropy found equal with each peer.
	Cleans Cleans

	graves Yard
	// forgotEpoch and forgotAt are the ring epoch and the time the node
	// last forgot the keys it does not replicate; forgetting is set while
	// it walks them.
	forgotEpoch uint64
	forgotAt    time.Duration
	forgetting  bool
}

// Purging reports whether the node drops tombstones at all.
func (d *Driver) Purging() bool { return d.Grace > 0 }

// Buried keeps key's tombstone, stamped stamp, which the rule may drop in
// time, just applied at steady time at.
func (d *Driver) Buried(key []byte, stamp clock.Timestamp, at time.Duration) {
	d.graves.Add(Grave{Key: string(key), Stamp: stamp, At: at})
}

// Graves is the number of tombstones held that the rule may drop in time.
func (d *Driver) Graves() int { return d.graves.Len() }

// Sweep, if a sweep is due (every Every), looks at the graves in the
// order they came, Slice a turn, drops the tombstones the rule allows and
// keeps the others; it stops at the first one younger than the grace, and
// when the ring moves (what is left waits for the next sweep).
func (d *Driver) Sweep() {
	if !d.Purging() || !d.graves.Due(d.Node.Now(), d.Every) {
		return
	}
	if d.graves.Len() == 0 || !d.Node.Ready() {
		return
	}
	d.graves.Begin()
	v := d.Node.View()
	rule := Rule{
		Grace:      d.Grace,
		Epoch:      v.Epoch,
		Arcs:       v.Arcs(),
		Self:       d.Self,
		Cleans:     &d.Cleans,
		Unverified: d.Unverified,
		StaleClean: d.StaleClean,
	}
	var step func()
	step = func() {
		if !d.Node.Settled(rule.Epoch) {
			d.graves.End()
			return
		}
		rule.Now, rule.Expired = d.Node.Steady(), d.Node.Expired()
		more := d.graves.Turn(Slice, func(g Grave) Verdict {
			held, ok := d.Store.Get([]byte(g.Key))
			verdict := rule.Judge(g, held, ok)
			if verdict == Drop {
				d.Store.Drop([]byte(g.Key))
				d.Node.Dropped(g)
			}
			return verdict
		})
		if more {
			d.Node.Later(0, step)
			return
		}
		d.graves.End()
	}
	step()
}

// ForgetUnowned drops, once a ring settles and again every half grace,
// the registers this node does not replicate on it, Slice keys a turn,
// each slice made durable by oplog.TypeForget records before the next (a
// replay must not bring a forgotten copy back). Only a node that drops
// tombstones does it; it starts over if the ring moves meanwhile.
func (d *Driver) ForgetUnowned() {
	if !d.Purging() || d.forgetting || d.forgotEpoch == d.Node.View().Epoch && d.Node.Now() < d.forgotAt+d.Grace/2 || !d.Node.Ready() {
		return
	}
	d.forgetting = true
	epoch := d.Node.View().Epoch
	d.Node.WithKeys(func(keys store.Keys) { d.forget(epoch, keys) })
}

// forget drops, Slice keys a turn, the registers among keys this node
// does not replicate on the ring of epoch.
func (d *Driver) forget(epoch uint64, keys store.Keys) {
	var step func()
	step = func() {
		if !d.Node.Settled(epoch) || !d.Node.Member() {
			d.forgetting = false
			return
		}
		slice, rest := keys.Cut(Slice)
		ring := d.Node.View()
		var recs []oplog.Record
		for key := range slice.All() {
			if d.KeepUnowned || ring.Replicates([]byte(key), d.Self) {
				continue // the common case, decided without reading the store
			}
			v, ok := d.Store.Get([]byte(key))
			if !ok || v.Kind != store.Register || v.Pending != nil {
				// A counter is never forgotten: it cannot be deleted (so no
				// copy of it can undo a delete), and a node that led it
				// must keep its own slot, or it would rebuild the slot from
				// nothing when it leads it again (review). A state with
				// batch intents waits for them to settle.
				continue
			}
			d.Store.Drop([]byte(key))
			recs = append(recs, oplog.Record{Type: oplog.TypeForget, Key: []byte(key)})
		}
		keys = rest
		next := func() {
			if keys.Len() > 0 {
				d.Node.Later(0, step)
				return
			}
			d.forgotEpoch, d.forgotAt, d.forgetting = epoch, d.Node.Now(), false
		}
		if len(recs) == 0 {
			next()
			return
		}
		d.Node.Forget(recs, next)
	}
	step()
}
