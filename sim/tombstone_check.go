package sim

import (
	"fmt"
	"time"

	"github.com/memdb/memdb/clock"
	"github.com/memdb/memdb/linearize"
	"github.com/memdb/memdb/net"
	"github.com/memdb/memdb/node/store"
)

// The tombstone checkers (issue 22): no deleted value ever comes back.
//
// A value v of key k is deleted when a delete D of k was acknowledged (at
// any level) with a stamp above the stamp v's write W was acknowledged
// with, and D was called after W returned. Values are unique in a run, so
// v names W. Both stamps matter: LWW by stamp is what the store promises,
// so a delete stamped below W (its coordinator's clock behind, its client
// never having seen W) rightly loses to W, whatever the real-time order;
// and both operations must be acknowledged, for a write of unknown outcome
// has no known stamp and may take effect at any time. The real-time order
// keeps out a write that began after the delete, stamped below it by a
// lagging clock: not a value the delete put behind it.
//
// What is checked:
//   - taken back (checkGraves): no node holds a deleted value after it held
//     a tombstone of the key stamped above it (graveWatch, tombstone.go).
//     A store that never drops a tombstone cannot do that at all: its
//     versions only move forward, across crashes too, since the simulator
//     runs every node with fsync=always (a synced tombstone is replayed;
//     with a weaker fsync a crash could lose a tombstone and take an older
//     value back legitimately, and this check would not hold). A wiped or
//     corrupt disk resets what the node held, and so does a key the node
//     forgot with its arc (seen holding nothing of it while no replica):
//     what it holds once the arc returns is its replicas' state.
//   - buried (checkBuried): after the heal, no replica of a key holds a
//     deleted value.
//
// A read is not judged by itself: a read at a level that does not meet the
// delete's may rightly answer a value from a replica the delete has not
// reached yet, without any tombstone dropped. Reads at levels that meet are
// held to quorum visibility and monotonic reads (cluster.go,
// guarantees.go), as in every run.
//
// Those checkers, and convergence, at rest and catch-up, learn one thing in
// a run whose nodes drop tombstones: a key that holds nothing, or a read
// that found nothing at no version, may be a tombstone collected
// (mayCollect), and a replica holding nothing and one holding a plain
// tombstone agree.

// deletedBy returns, if v is a deleted value of key, its write and the
// delete that put it behind.
func (w *world) deletedBy(key, v string) (wr, del *linearize.Op) {
	g := w.tombIndex()
	wr = g.sets[key][v]
	if wr == nil {
		return nil, nil
	}
	for _, d := range g.deletes[key] {
		if d.Outcome == linearize.OK && wr.Return < d.Call && wr.Version.Less(d.Version) {
			return wr, d
		}
	}
	return nil, nil
}

// tombIndex indexes the history's acknowledged sets by key and value, and
// its deletes by key, once the run is over.
type tombIndex struct {
	sets    map[string]map[string]*linearize.Op
	deletes map[string][]*linearize.Op
}

func (w *world) tombIndex() *tombIndex {
	if w.tombIdx != nil {
		return w.tombIdx
	}
	g := &tombIndex{sets: map[string]map[string]*linearize.Op{}, deletes: map[string][]*linearize.Op{}}
	for i := range w.history {
		op := &w.history[i]
		switch {
		case op.Kind == linearize.Set && op.Outcome == linearize.OK && !op.Version.IsZero():
			if g.sets[op.Key] == nil {
				g.sets[op.Key] = map[string]*linearize.Op{}
			}
			g.sets[op.Key][op.Value] = op
		case op.Kind == linearize.Delete && op.Outcome != linearize.Failed:
			g.deletes[op.Key] = append(g.deletes[op.Key], op)
		}
	}
	w.tombIdx = g
	return g
}

// mayCollect reports whether key, found holding nothing at all by a read
// that returned at by (or at rest), may hold a tombstone at or after
// after that a node dropped: the run's nodes drop tombstones, and a
// delete of key was acknowledged with a stamp at or after after, or one
// of unknown outcome was called before by (its stamp unknown).
func (w *world) mayCollect(key string, after clock.Timestamp, by time.Duration) bool {
	if w.p.TombstoneGrace <= 0 {
		return false
	}
	for _, d := range w.tombIndex().deletes[key] {
		if d.Outcome == linearize.OK && !d.Version.Less(after) || d.Outcome == linearize.Unknown && d.Call < by {
			return true
		}
	}
	return false
}

// collectedRead reports whether read r found nothing, in a run whose nodes
// drop tombstones: what a read of a key whose tombstone was dropped
// answers, at no version, or at an older tombstone's that came back after
// it (one that a replica had not dropped yet, or whose expiry it judged by
// a clock further behind): absent all the same.
func (w *world) collectedRead(r *linearize.Op) bool {
	return w.p.TombstoneGrace > 0 && !r.Found
}

// sameAbsent reports whether a and b, two replicas' states of a key, both
// say it is absent — each holds nothing or a plain tombstone — in a run
// whose nodes drop tombstones: a tombstone one replica dropped and another
// has not yet, or an older one that came back where a later one was
// dropped. Anti-entropy leaves expired tombstones out of its digests, so
// nothing makes such replicas agree to the stamp.
func (w *world) sameAbsent(a, b store.Version) bool {
	absent := func(v store.Version) bool { return v.Stamp.IsZero() || v.Tombstone() }
	return w.p.TombstoneGrace > 0 && absent(a) && absent(b)
}

// heldTombstone reports whether the tombstone watch saw node id hold a
// tombstone of key at or after stamp since its disk was last replaced.
func (w *world) heldTombstone(id net.NodeID, key string, stamp clock.Timestamp) bool {
	return w.graves != nil && !w.graves.marks[graveSpot{id, key}].Stamp.Less(stamp)
}

// checkGraves fails the run if a node took back a deleted value after it
// held a tombstone stamped above it; those not provably deleted are
// counted (Stats.TakenBack).
func (w *world) checkGraves() (Verdict, string) {
	if w.graves == nil {
		return Pass, ""
	}
	for _, b := range w.graves.back {
		wr, del := w.deletedBy(b.spot.key, b.value)
		if wr == nil {
			w.stats.TakenBack++
			continue
		}
		return Safety, fmt.Sprintf("tombstones: node %d held a tombstone of %q at %v, then at %v the value %q at %v again, which %v (client %d, node %d) wrote, acknowledged at %v, and %v (client %d, node %d, called %v) deleted with %v: a deleted value came back",
			b.spot.node, b.spot.key, b.tomb, b.at, b.value, b.stamp, *wr, wr.Client, wr.Node, wr.Return, *del, del.Client, del.Node, del.Call, del.Version)
	}
	return Pass, ""
}

// checkBuried fails the run if a replica of a key holds a deleted value
// after the heal. nodes and ref are checkConvergence's.
func (w *world) checkBuried(nodes map[uint16]inspectable, ref inspectable) (Verdict, string) {
	if w.p.Client.Serial {
		return Pass, ""
	}
	for k := range w.p.Keys {
		key := fmt.Sprintf("k%d", k)
		for _, r := range ref.Replicas([]byte(key)) {
			in, ok := nodes[r]
			if !ok {
				continue
			}
			v, _ := in.Store().Get([]byte(key))
			if !v.Live() {
				continue
			}
			if wr, del := w.deletedBy(key, string(v.Value)); wr != nil {
				return Safety, fmt.Sprintf("tombstones: replica %d of %q holds %s after the heal, which %v (client %d, node %d) wrote, acknowledged at %v with %v, and %v (client %d, node %d, called %v) deleted with %v: a deleted value came back",
					r, key, describe(v), *wr, wr.Client, wr.Node, wr.Return, wr.Version, *del, del.Client, del.Node, del.Call, del.Version)
			}
		}
	}
	return Pass, ""
}
