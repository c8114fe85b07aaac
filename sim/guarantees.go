package sim

import (
	"cmp"
	"fmt"
	"maps"
	"slices"

	"github.com/memdb/memdb/clock"
	"github.com/memdb/memdb/linearize"
	"github.com/memdb/memdb/net"
	"github.com/memdb/memdb/node/quorum"
	"github.com/memdb/memdb/node/store"
)

// Checkers for DESIGN §3 guarantees that quorum visibility and
// convergence do not see (issue 19). Each only observes: none sends,
// schedules or draws anything, so no event hash moves.
//
//   - monotonic quorum reads (checkMonotonicReads): at quorum or all, when
//     two read quorums intersect (2R > replicas), a read that began after another read of
//     the key returned answers that read's version or a later one. A
//     quorum read repairs what it answers onto a quorum before it answers
//     (blocking read repair); without that, a read can answer a version
//     one replica holds and a later read miss it (PAPER §4, bug 32).
//   - at rest (checkAtRest): after the heal, the settle window and
//     convergence, every replica of a key holds a version at least as
//     late as every acknowledged write and delete of the key, at any
//     level: a write acknowledged at W survives crashes (which keep what
//     was synced) and the loss of at most one node's state (wipe, corrupt
//     log, removal — only drawn where W ≥ 2), and a deleted value never
//     comes back under an older stamp. Convergence alone passes replicas
//     that agree on an older version; visibility sees it only through a
//     read at an intersecting level.
//   - durable at restart (durableAtCrash, checkRestart): a node's store
//     holds only synced versions (a write enters it when its sync
//     completes, replica.go), so with fsync=always what the store held
//     when the machine lost power it holds again once replay ends — every
//     key, register or counter, client or system. A wiped disk (or a
//     corrupt one, set aside) is the one exception.

// checkSessions requires every acknowledged plain write or delete to be
// stamped after every version its client had seen when it called it: the
// versions of its earlier answered reads and writes. The client sends
// the highest it has seen with every request (DESIGN §3), so its later
// write always wins over what it read or wrote before, whichever node
// coordinates it. The other checkers compare a write with what others
// read, so a write stamped below its own client's past passes them: it
// is simply older.
func (w *world) checkSessions() (Verdict, string) {
	type seen struct {
		v  clock.Timestamp
		op *linearize.Op
	}
	byClient := map[int][]*linearize.Op{}
	var clients []int
	for i := range w.history {
		op := &w.history[i]
		if op.Client == 0 || op.Serial || op.Outcome != linearize.OK {
			continue
		}
		if op.Kind != linearize.Get && op.Kind != linearize.Set && op.Kind != linearize.Delete {
			continue
		}
		if byClient[op.Client] == nil {
			clients = append(clients, op.Client)
		}
		byClient[op.Client] = append(byClient[op.Client], op)
	}
	slices.Sort(clients)
	for _, c := range clients {
		if v, why := session(byClient[c]); v != Pass {
			return v, why
		}
	}
	return Pass, ""
}

// session checks one client's answered plain operations, in the order it
// called them (one at a time: each returned before the next was called).
func session(ops []*linearize.Op) (Verdict, string) {
	var top *linearize.Op // the op whose answer carried the highest version so far
	for _, op := range ops {
		if (op.Kind == linearize.Set || op.Kind == linearize.Delete) && top != nil && !top.Version.Less(op.Version) {
			return Safety, fmt.Sprintf("session: %v (client %d, node %d, called %v) was stamped %v, not after %v that %v (node %d) had answered the same client at %v",
				*op, op.Client, op.Node, op.Call, op.Version, top.Version, *top, top.Node, top.Return)
		}
		if top == nil || top.Version.Less(op.Version) {
			top = op
		}
	}
	return Pass, ""
}

// checkMonotonicReads runs the monotonic quorum reads check on the
// history's plain reads.
func (w *world) checkMonotonicReads() (Verdict, string) {
	n := min(max(w.p.RF, 1), w.p.Nodes)
	if c := w.p.Client; c.Serial || c.ReadLevel == net.One || 2*quorum.Need(c.ReadLevel, n) <= n {
		// Read quorums need not meet, or the reads are at level one,
		// which repairs in the background only: nothing promised. (With
		// rf 1 one replica is a quorum, but while a join moves a key a
		// read at one takes the newest of the old and the new owner and
		// repairs neither before it answers, as seed 12 of a first
		// version of the failover scenario showed.)
		return Pass, ""
	}
	byKey := map[string][]*linearize.Op{}
	var keys []string
	for i := range w.history {
		r := &w.history[i]
		if r.Kind != linearize.Get || r.Outcome != linearize.OK || r.Serial {
			continue
		}
		if byKey[r.Key] == nil {
			keys = append(keys, r.Key)
		}
		byKey[r.Key] = append(byKey[r.Key], r)
	}
	slices.Sort(keys)
	for _, k := range keys {
		collected := func(r, latest *linearize.Op) bool {
			return w.collectedRead(r) && w.mayCollect(r.Key, latest.Version, r.Return)
		}
		if v, why := monotonic(byKey[k], collected); v != Pass {
			return v, why
		}
	}
	return Pass, ""
}

// monotonic checks one key's answered reads: each must answer a version
// no older than the latest answered by a read that returned before it
// was called, unless collected says that read r found a tombstone at or
// after latest's version dropped (tombstone_check.go; nil: none is).
func monotonic(reads []*linearize.Op, collected func(r, latest *linearize.Op) bool) (Verdict, string) {
	byReturn := slices.Clone(reads)
	slices.SortStableFunc(byReturn, func(a, b *linearize.Op) int { return cmp.Compare(a.Return, b.Return) })
	byCall := slices.Clone(reads)
	slices.SortStableFunc(byCall, func(a, b *linearize.Op) int { return cmp.Compare(a.Call, b.Call) })
	var latest *linearize.Op // the latest version among reads returned so far
	j := 0
	for _, r := range byCall {
		for ; j < len(byReturn) && byReturn[j].Return < r.Call; j++ {
			if latest == nil || latest.Version.Less(byReturn[j].Version) {
				latest = byReturn[j]
			}
		}
		if latest != nil && r.Version.Less(latest.Version) && (collected == nil || !collected(r, latest)) {
			return Safety, fmt.Sprintf("monotonic reads: %v (client %d, node %d, called %v) read version %v, older than version %v that %v (client %d, node %d) read and returned at %v, before it began",
				*r, r.Client, r.Node, r.Call, r.Version, latest.Version, *latest, latest.Client, latest.Node, latest.Return)
		}
	}
	return Pass, ""
}

// checkAtRest requires the converged version of every workload key to be
// at least as late as every acknowledged write and delete of it. nodes
// and ref are checkConvergence's: the replicas already agree.
func (w *world) checkAtRest(nodes map[uint16]inspectable, ref inspectable) (Verdict, string) {
	if w.p.Client.Serial {
		return Pass, "" // Paxos answers carry no stamps to compare
	}
	acked := w.acknowledged()
	for k := range w.p.Keys {
		key := fmt.Sprintf("k%d", k)
		reps := ref.Replicas([]byte(key))
		if len(reps) == 0 {
			continue
		}
		v, _ := nodes[reps[0]].Store().Get([]byte(key))
		if l := acked[key]; l != nil && !v.Live() && w.mayCollect(key, l.Version, w.now) {
			continue // a tombstone at or after the latest write, dropped
		}
		if why := behind(key, v, acked[key]); why != "" {
			return Safety, fmt.Sprintf("at rest: replicas %v of %q %s", reps, key, why)
		}
	}
	return Pass, ""
}

// acknowledged is, per key, the acknowledged write or delete with the
// latest stamp.
func (w *world) acknowledged() map[string]*linearize.Op {
	latest := map[string]*linearize.Op{}
	for i := range w.history {
		op := &w.history[i]
		if (op.Kind != linearize.Set && op.Kind != linearize.Delete) || op.Outcome != linearize.OK || op.Version.IsZero() {
			continue
		}
		if cur := latest[op.Key]; cur == nil || cur.Version.Less(op.Version) {
			latest[op.Key] = op
		}
	}
	return latest
}

// behind says how v, a key's state at rest, falls short of the latest
// acknowledged write to it (nil: none), or "" if it does not.
func behind(key string, v store.Version, latest *linearize.Op) string {
	if latest == nil || !v.Stamp.Less(latest.Version) {
		return ""
	}
	what := "lost it"
	if latest.Kind == linearize.Delete && v.Live() {
		what = "brought the deleted value back"
	}
	return fmt.Sprintf("hold %s after the heal, older than %v (client %d, node %d, acknowledged at %v with %v): they %s",
		describe(v), *latest, latest.Client, latest.Node, latest.Return, latest.Version, what)
}

// durableAtCrash is what a machine's store holds as it loses power: every
// key's version. Listed reads the store without touching it.
func durableAtCrash(s *store.Store) map[string]store.Version {
	snap := make(map[string]store.Version, s.Len())
	for k := range s.Listed() {
		v, _ := s.Get([]byte(k))
		snap[k] = v
	}
	return snap
}

// lostAtRestart returns a key whose version before the crash (before) the
// store replayed at boot (after) does not cover, in sorted order, and
// what each held; ok is false if every key is covered.
func lostAtRestart(before map[string]store.Version, after *store.Store) (key string, was, now store.Version, ok bool) {
	for _, k := range slices.Sorted(maps.Keys(before)) {
		v, _ := after.Get([]byte(k))
		if !store.Covers(v, before[k]) {
			return k, before[k], v, true
		}
	}
	return "", store.Version{}, store.Version{}, false
}

// checkRestart holds a node that just replayed its log to what its store
// held when it crashed (h.durable, nil after a wiped disk).
func (h *host) checkRestart() {
	in, ok := h.proc.(inspectable)
	if !ok || h.durable == nil {
		return
	}
	durable := h.durable
	if h.w.p.TombstoneGrace > 0 {
		durable = forgettable(durable, in, h.id)
	}
	if k, was, now, lost := lostAtRestart(durable, in.Store()); lost {
		h.w.safety("durable at restart: node %d held %s for %.40q when it crashed at %v, and replayed %s at %v: a synced version lost",
			h.id, briefly(was), k, h.downAt, briefly(now), h.w.now)
	}
	h.durable = nil
}

// forgettable leaves out of what a node's store held when it crashed what
// a node that drops tombstones may have forgotten since, by a record its
// replay honours (node/grave.go): plain tombstones, and keys of arcs it
// no longer replicates.
func forgettable(before map[string]store.Version, in inspectable, id net.NodeID) map[string]store.Version {
	kept := make(map[string]store.Version, len(before))
	for k, v := range before {
		if v.Tombstone() || !slices.Contains(in.Replicas([]byte(k)), uint16(id)) {
			continue
		}
		kept[k] = v
	}
	return kept
}

// briefly is describe with long values (counters' slots, system keys'
// records) cut short.
func briefly(v store.Version) string {
	if len(v.Value) > 24 {
		v.Value = append(v.Value[:24:24], "…"...)
	}
	return describe(v)
}
