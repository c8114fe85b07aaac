package sim

import (
	"cmp"
	"fmt"
	"slices"
	"time"

	"github.com/memdb/memdb/clock"
	"github.com/memdb/memdb/linearize"
	"github.com/memdb/memdb/net"
	"github.com/memdb/memdb/node/store"
)

// The batch checkers (design/batches.md). Every batch writes a value of
// its own, so a read's value names the batch it came from.
//
// checkBatches judges the history:
//   - an aborted batch's value is never read (a batch the node answered
//     aborted applied nothing, ever), and a committed batch's value only
//     at the version it committed at (it applied once);
//   - no fractured reads: once a read at quorum or above returned batch
//     B's value for one key, a read at quorum or above that began after it
//     returned, of another key of B, returns B's version or a later one.
//
// checkBatchReplicas judges the replicas after heal (once they converged):
//   - all or nothing: if any key holds batch B's value, at B's version T,
//     every other key of B holds T or a later version;
//   - an aborted batch's value is on no key;
//   - no intent is left undecided on any node.
func (w *world) checkBatches() (Verdict, string) {
	batches := w.batchesByValue()
	if len(batches) == 0 {
		return Pass, ""
	}
	reads := map[string][]*linearize.Op{} // key → reads at quorum or above, by call
	for i := range w.history {
		r := &w.history[i]
		if r.Kind != linearize.Get || r.Outcome != linearize.OK {
			continue
		}
		if b := batches[r.Output]; r.Found && b != nil && b.Outcome == linearize.Failed {
			return Safety, fmt.Sprintf("batches: %v read the value of %v, which was aborted", *r, *b)
		}
		if b := batches[r.Output]; r.Found && b != nil && b.Outcome == linearize.OK && r.Version != b.Version {
			return Safety, fmt.Sprintf("batches: %v read the value of %v at version %v; the batch committed at %v (applied twice?)", *r, *b, r.Version, b.Version)
		}
		if w.p.Client.ReadLevel != net.One {
			reads[r.Key] = append(reads[r.Key], r)
		}
	}
	for k := range reads {
		slices.SortFunc(reads[k], func(a, b *linearize.Op) int { return cmp.Compare(a.Call, b.Call) })
	}
	for _, rs := range reads {
		for _, r1 := range rs {
			b := batches[r1.Output]
			if !r1.Found || b == nil {
				continue
			}
			for _, k2 := range b.Keys() {
				if k2 == r1.Key {
					continue
				}
				for _, r2 := range reads[k2] {
					if r2.Call > r1.Return && r2.Version.Less(r1.Version) {
						return Safety, fmt.Sprintf("batches: a fractured read: %v (client %d, %v-%v) read %v at version %v, then %v (client %d, called %v) read version %v of its key %s",
							*r1, r1.Client, r1.Call, r1.Return, *b, r1.Version, *r2, r2.Client, r2.Call, r2.Version, k2)
					}
				}
			}
		}
	}
	return Pass, ""
}

// batchesByValue maps each batch's value to it.
func (w *world) batchesByValue() map[string]*linearize.Op {
	var out map[string]*linearize.Op
	for i := range w.history {
		if op := &w.history[i]; op.Kind == linearize.Batch {
			if out == nil {
				out = map[string]*linearize.Op{}
			}
			out[op.Value] = op
		}
	}
	return out
}

// settleBound is how long after it began a batch's intents may stay
// undecided: its coordinator's deadlines (half a request timeout for the
// intents, one for the decision: 3 s at the simulator's 2 s), or else the
// sweepers' (four request timeouts after a replica first saw the intent,
// checked every hint round), and a decision of their own, with room.
const settleBound = 14 * time.Second

func (w *world) checkBatchReplicas(nodes map[uint16]inspectable, ref inspectable) (Verdict, string) {
	batches := w.batchesByValue()
	if len(batches) == 0 {
		return Pass, ""
	}
	ids := make([]uint16, 0, len(nodes))
	for id := range nodes {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	byToken := map[string]*linearize.Op{}
	for _, b := range batches {
		byToken[b.Token] = b
	}
	for _, id := range ids {
		st := nodes[id].Store()
		for _, k := range st.WithIntents() {
			if !slices.Contains(ref.Replicas([]byte(k)), id) {
				continue // not a replica of k any more: what it holds is not read
			}
			v, _ := st.Get([]byte(k))
			for _, i := range v.Undecided() {
				if b := byToken[string(i.Token)]; b == nil || w.now-b.Call > settleBound {
					return Liveness, fmt.Sprintf("batches: node %d still holds an undecided intent of key %q, of %v (version %v), %v after it began",
						id, k, b, i.Stamp, w.now-b.Call)
				}
			}
		}
	}
	// The state of each key, from its first replica (they converged).
	final := func(key string) (value string, found bool, stamp clock.Timestamp) {
		reps := ref.Replicas([]byte(key))
		if len(reps) == 0 || nodes[reps[0]] == nil {
			return "", false, clock.Timestamp{}
		}
		v, _ := nodes[reps[0]].Store().Get([]byte(key))
		return string(v.Value), v.Live(), v.Stamp
	}
	values := slices.Sorted(func(yield func(string) bool) {
		for v := range batches {
			if !yield(v) {
				return
			}
		}
	})
	for _, val := range values {
		b := batches[val]
		if w.now-b.Call <= settleBound {
			continue // may still be resolving
		}
		for _, k := range b.Keys() {
			v, found, at := final(k)
			if !found || v != val {
				continue
			}
			if b.Outcome == linearize.Failed {
				return Safety, fmt.Sprintf("batches: key %s holds the value of %v, which was aborted", k, *b)
			}
			for _, k2 := range b.Keys() {
				if _, _, at2 := final(k2); at2.Less(at) {
					return Safety, fmt.Sprintf("batches: not all or nothing after heal: key %s holds %v at %v, but key %s is at %v, older",
						k, *b, at, k2, at2)
				}
			}
			break
		}
	}
	return Pass, ""
}

// resolving reports whether replica state v may be a batch's write whose
// resolution is still on its way to the other replicas: the state holds an
// undecided intent, or its value is a batch's that began within
// settleBound of the end. Convergence leaves such keys to the batch
// checkers (which judge batches older than that).
func (w *world) resolving(v store.Version) bool {
	if len(v.Undecided()) > 0 {
		return true
	}
	if w.p.Client.Batch == 0 || v.Stamp.IsZero() {
		return false
	}
	for _, b := range w.batchesByValue() {
		// A value names its batch; a tombstone, the batch's version.
		if (v.Live() && string(v.Value) == b.Value || !v.Live() && v.Stamp == b.Version) && w.now-b.Call <= settleBound {
			return true
		}
	}
	return false
}
