package sim

import (
	"cmp"
	"fmt"
	"slices"
	"time"

	"github.com/memdb/memdb/clock"
	"github.com/memdb/memdb/linearize"
	"github.com/memdb/memdb/net"
	"github.com/memdb/memdb/node/quorum"
	"github.com/memdb/memdb/node/store"
)

// The cluster checkers. Plain reads and writes in a Dynamo-style cluster
// are not linearizable (two writers through different coordinators are
// ordered by Lamport stamps, not by real time), so a multi-node run checks
// what DESIGN §3 promises instead:
//
//   - quorum visibility: when the write and read levels intersect (W + R >
//     replicas), a read that starts after a write was acknowledged returns
//     that write's version or a later one — so no acknowledged write is
//     lost and no deleted value comes back, across crashes, partitions and
//     joins;
//   - convergence: after the heal and the liveness window, every replica of
//     every key holds the same version, and every node the same ring.

// Stuck is how long the ring may go unchanged at the end of a run while a
// node is still joining or leaving before the run fails liveness: one
// movement at a time across the cluster makes formation slow under faults
// and loss (a lossy link can cost a join several request timeouts), which
// is fine, but a movement that stopped moving is not.
const Stuck = 15 * time.Second

// Settle is how long a cluster run goes on after the workload ends before
// convergence is checked: time for writes in flight to land and for hints
// (held for a request timeout, then replayed) to be delivered.
const Settle = 5 * time.Second

// inspectable is what the checkers read from a node.
type inspectable interface {
	Store() *store.Store
	Replicas(key []byte) []uint16
	Epoch() uint64
}

// checkVisibility runs the quorum visibility check on the history.
func (w *world) checkVisibility() (Verdict, string) {
	if v, why := w.checkValues(); v != Pass {
		return v, why
	}
	n := min(max(w.p.RF, 1), w.p.Nodes)
	c := w.p.Client
	plain := quorum.Need(c.WriteLevel, n)+quorum.Need(c.ReadLevel, n) > n
	type write struct {
		ret   int64
		stamp clock.Timestamp
		op    *linearize.Op
	}
	writes := map[string][]write{}
	for i := range w.history {
		op := &w.history[i]
		if plain && (op.Kind == linearize.Set || op.Kind == linearize.Delete) && op.Outcome == linearize.OK {
			writes[op.Key] = append(writes[op.Key], write{int64(op.Return), op.Version, op})
		}
		// A batch is acknowledged once its intents are on a quorum of
		// every key's replicas, whatever the write level.
		if op.Kind == linearize.Batch && op.Outcome == linearize.OK && quorum.Need(net.Quorum, n)+quorum.Need(c.ReadLevel, n) > n {
			for _, k := range op.Keys() {
				writes[k] = append(writes[k], write{int64(op.Return), op.Version, op})
			}
		}
	}
	for k := range writes {
		slices.SortFunc(writes[k], func(a, b write) int { return cmp.Compare(a.ret, b.ret) })
	}
	for i := range w.history {
		r := &w.history[i]
		if r.Kind != linearize.Get || r.Outcome != linearize.OK {
			continue
		}
		for _, wr := range writes[r.Key] {
			if wr.ret >= int64(r.Call) {
				break
			}
			if r.Version.Less(wr.stamp) && !(w.collectedRead(r) && w.mayCollect(r.Key, wr.stamp, r.Return)) {
				return Safety, fmt.Sprintf("quorum visibility: %v read version %v, but %v was acknowledged with %v before the read began",
					*r, r.Version, *wr.op, wr.stamp)
			}
		}
	}
	return Pass, ""
}

// checkConvergence requires every replica of every workload key to hold the
// same version at the end of the run, and every node the same ring epoch.
func (w *world) checkConvergence() (Verdict, string) {
	nodes := map[uint16]inspectable{} // by id; a node that left is not one
	var ids []uint16
	for _, h := range w.hosts {
		if l, ok := h.proc.(interface{ HasLeft() bool }); h.gone || ok && h.up && l.HasLeft() {
			continue // it left the cluster (maybe in a leave it resumed after a restart)
		}
		if !h.up {
			return Liveness, fmt.Sprintf("node %d is down at the end of the run", h.id)
		}
		in, ok := h.proc.(inspectable)
		if !ok {
			return Pass, "" // a test double
		}
		if rb, ok := h.proc.(interface{ Rebuilding() bool }); ok && rb.Rebuilding() {
			return Liveness, fmt.Sprintf("node %d is still rebuilding lost state %v after the heal", h.id, w.p.Liveness)
		}
		if nm, ok := h.proc.(interface{ Normal() bool }); ok && !nm.Normal() {
			if w.now-w.ringChanged > Stuck {
				return Liveness, fmt.Sprintf("membership stuck: node %d is not a normal member at the end, and the ring has not changed for %v", h.id, w.now-w.ringChanged)
			}
			// Still joining or leaving, and the ring still moves: slow, not
			// stuck (one movement at a time).
		}
		nodes[uint16(h.id)] = in
		ids = append(ids, uint16(h.id))
	}
	ref := nodes[ids[0]]
	for _, id := range ids {
		if in := nodes[id]; in.Epoch() != ref.Epoch() {
			return Liveness, fmt.Sprintf("convergence: node %d is at ring epoch %d, node %d at %d, %v after the heal",
				id, in.Epoch(), ids[0], ref.Epoch(), w.p.Liveness)
		}
	}
	for k := range w.p.Keys {
		key := []byte(fmt.Sprintf("k%d", k))
		reps := ref.Replicas(key)
		var first store.Version
		for j, r := range reps {
			in, ok := nodes[r]
			if !ok {
				return Liveness, fmt.Sprintf("convergence: node %d, which left, is still a replica of %q %v after the heal", r, key, w.p.Liveness)
			}
			v, _ := in.Store().Get(key)
			if j == 0 {
				first = v
				continue
			}
			if (v.Stamp != first.Stamp || v.Deleted != first.Deleted || string(v.Value) != string(first.Value)) && !w.sameAbsent(v, first) {
				if w.resolving(first) || w.resolving(v) {
					continue // a batch's resolution may still be on its way (batch_check.go)
				}
				return Liveness, fmt.Sprintf("convergence: replicas %v of %q differ %v after the heal: node %d has %v, node %d has %v",
					reps, key, w.p.Liveness, reps[0], describe(first), r, describe(v))
			}
		}
	}
	if v, why := w.checkBuried(nodes, ref); v != Pass {
		return v, why
	}
	if v, why := w.checkAtRest(nodes, ref); v != Pass {
		return v, why
	}
	if v, why := w.checkCounterReplicas(nodes, ref); v != Pass {
		return v, why
	}
	return w.checkBatchReplicas(nodes, ref)
}

func describe(v store.Version) string {
	switch {
	case v.Stamp.IsZero():
		return "nothing"
	case v.Deleted:
		return fmt.Sprintf("a tombstone at %v", v.Stamp)
	}
	return fmt.Sprintf("%q at %v", v.Value, v.Stamp)
}
