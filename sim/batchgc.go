package sim

import (
	"fmt"
	"slices"
	"time"

	"github.com/memdb/memdb/net"
	"github.com/memdb/memdb/node"
	"github.com/memdb/memdb/node/ring"
	"github.com/memdb/memdb/node/store"
)

// The collection race (Swarm.BatchGC, the batch-gc scenario). A committed
// batch's record may be collected only once every replica of every key of
// the batch holds its write (node/batchgc.go): a replica that still holds
// the batch's intent undecided when the record is gone settles it by
// aborting the batch through a fresh record, and if no replica of that
// key took the write, the batch is applied on its other keys only. The
// planted bug node.MutantRecordUnchecked collects on the retention window
// and a settled ring alone.
//
// Six nodes, replication factor 3, the nodes collecting records after a
// retention of 16-20 s (over the clients' batch deadline, three timeouts
// of 2.5-5 s) with anti-entropy every second, steady latencies and slow
// syncs (50 ms). Key a is on nodes 1-3, key b and the batch's record
// (from its token) on nodes 4-6, and the coordinator C is one of 4-6. At
// t0 (20 s, once the ring settled) C's client writes a and b in one
// batch; a's replicas acknowledge its intents about 50 ms on, C decides
// on nodes 4-6 about 100 ms later, and 100 ms on, in between, nodes 1-3
// are cut off from 4-6 for the retention and 5 s: b's resolution lands,
// a's waits in hints, which expire at half the retention, and a's
// replicas cannot look the record up. Collected without asking them, the
// record is gone when they come back, and they abort the batch: b holds
// it, a does not (all or nothing after heal, and a fractured read by the
// quorum reads of b and then a after the heal). Kept until a's replicas
// hold the write, the batch commits there too once they reach it, and
// the record is collected after. One random client reads at quorum.
func drawBatchGC(seed uint64, p *Params) []string {
	x := Stream(seed, "batchgc")
	p.Nodes, p.RF, p.Clients = 6, 3, 1
	p.Net.Loss, p.Net.Dup = 0, 0
	// Steady latencies, and slow syncs: C's decision (a Paxos round on
	// nodes 4-6, a sync at each phase) takes about 100 ms after a's
	// replicas acknowledged its intents, and the cut falls in between.
	p.Net.LatencyFloor, p.Net.LatencyMedian, p.Net.LatencySigma = 200*time.Microsecond, 300*time.Microsecond, 0.1
	p.Disk.SyncMin, p.Disk.SyncMax = 50*time.Millisecond, 50*time.Millisecond
	p.Keys = 6 + x.IntN(6)
	p.Client.Mix = [4]int{1, 0, 0, 0}
	p.Client.ReadLevel, p.Client.WriteLevel = net.Quorum, net.Quorum
	p.Client.Timeout = time.Duration(between(x, 2.5, 5) * float64(time.Second)).Round(time.Millisecond)
	p.BatchRetention = time.Duration(between(x, 16, 20) * float64(time.Second)).Round(time.Millisecond)
	p.AntiEntropy = time.Second
	r, err := ring.New(1, ring.Virtual([]uint16{1, 2, 3, 4, 5, 6}, node.DefaultConfig(1).Vnodes))
	if err != nil {
		panic(err)
	}
	within := func(key []byte, side ...uint16) bool {
		for _, id := range r.Replicas(key, p.RF) {
			if !slices.Contains(side, id) {
				return false
			}
		}
		return true
	}
	first := func(ok func(k int) bool) int {
		for k := 0; ; k++ {
			if k == p.Keys {
				p.Keys++
			}
			if ok(k) {
				return k
			}
		}
	}
	a := first(func(k int) bool { return within(fmt.Appendf(nil, "k%d", k), 1, 2, 3) })
	b := first(func(k int) bool { return k != a && within(fmt.Appendf(nil, "k%d", k), 4, 5, 6) })
	var token string
	for i := x.Uint64(); token == ""; i++ {
		if t := fmt.Sprintf("%016x", i); within(store.RecordKey([]byte(t)), 4, 5, 6) {
			token = t
		}
	}
	coord := 4 + x.IntN(3)
	// The six nodes join one at a time, each in about 2.5 s: the ring is
	// settled well before t0.
	t0 := 20 * time.Second
	ms := func(n int) time.Duration { return time.Duration(n) * time.Millisecond }
	// Cut off for the retention and a few sweeps: the record is
	// collected (by the planted bug) before a's replicas come back.
	cut := p.BatchRetention + 5*time.Second
	p.Faults = []Fault{{At: t0 + ms(100), Kind: Partition, Side: []int{1, 2, 3}, For: cut}}
	p.Script = []Step{
		{At: t0 - 2*time.Second, Node: coord, Op: StepSet, Key: a, Level: net.All},
		{At: t0 - time.Second, Node: coord, Op: StepSet, Key: b, Level: net.All},
		{At: t0, Node: coord, Op: StepBatch, Key: a, Also: []int{b}, Token: token},
	}
	end := t0 + ms(100) + cut + 2*time.Second
	p.Duration, p.Liveness = end, 30*time.Second
	for i, n := range []int{1, coord} {
		// Late enough that every node sees every other up again: each
		// side of the cut took the other for dead, and after the heal
		// node 1 also took 2 and 3 for dead, from 4-6's word, for 10 s
		// until their refutations reached it (seed 15; seeds 2 and 4:
		// 4-6 still down to node 1 4 s after the heal).
		p.Script = append(p.Script,
			Step{At: end + time.Duration(18+i)*time.Second, Node: n, Op: StepGet, Key: b, Level: net.Quorum},
			Step{At: end + time.Duration(20+i)*time.Second, Node: n, Op: StepGet, Key: a, Level: net.Quorum})
	}
	return []string{fmt.Sprintf("batch-gc: a batch of k%d (on nodes 1-3) and k%d through node %d (its record, token %s, on nodes 4-6); nodes 1-3 cut off for %v as it decides; records collected after %v",
		a, b, coord, token, cut, p.BatchRetention)}
}

// batched reports whether the run writes batches (its clients or its
// script).
func (w *world) batched() bool {
	return w.p.Client.Batch > 0 || slices.ContainsFunc(w.p.Script, func(s Step) bool { return s.Op == StepBatch })
}

// records is how many batch records the running nodes hold, and how many
// they collected since they booted.
func (w *world) records() (held int, dropped uint64) {
	for _, h := range w.hosts {
		if r, ok := h.proc.(interface{ Records() (int, uint64) }); ok && h.up {
			n, d := r.Records()
			held, dropped = held+n, dropped+d
		}
	}
	return held, dropped
}

// markers is how many aborted markers the running nodes hold, and how
// many they collected since they booted.
func (w *world) markers() (held int, dropped uint64) {
	for _, h := range w.hosts {
		if r, ok := h.proc.(interface{ Markers() (int, uint64) }); ok && h.up {
			n, d := r.Markers()
			held, dropped = held+n, dropped+d
		}
	}
	return held, dropped
}
