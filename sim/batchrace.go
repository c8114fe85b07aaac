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

// The batch race (Swarm.BatchRace, the batch-race scenario). A batch is
// all or nothing only because every key's intent is on a quorum of its
// replicas before the batch's record commits: a quorum read of any key
// then meets the intent and resolves it through the record. The planted
// bug node.MutantIntentsAtOne writes intents at level one, and no random
// batch seed caught it in hundreds of runs: it needs a coordinator that
// reaches a single replica of one key of the batch — itself — but a
// quorum of another key's and of the record's, and believes the others
// up, so that it does not refuse the batch before writing anything.
//
// Four nodes, replication factor 3: key a is on nodes 1, 2 and 3 (not 4),
// key b and the batch's record key (from the token the script names) on
// nodes 1 and 4 among their three. After t0 (12 s, once the cluster has
// formed) node 1 sets a and b at level all; at t0+2 s nodes 2 and 3 are
// cut off from 1 and 4 for 6 s, and 50 ms later — before node 1's failure
// detector suspects them — node 1's client writes a and b in one batch.
// With intents at quorum, a's intent reaches node 1 only and the batch
// aborts. With intents at one, it commits through nodes 1 and 4: a read
// of b at quorum through node 4 at t0+4 s returns the batch's value, and
// a read of a at quorum through node 2 at t0+5 s, which meets nodes 2 and
// 3 and no intent, returns the value before it — a fractured read (the
// batch checker). Two random clients keep the other keys busy, reading at
// quorum (which the fractured-read check needs); no loss, no other fault.
func drawBatchRace(seed uint64, p *Params) []string {
	x := Stream(seed, "batchrace")
	p.Nodes, p.RF, p.Clients = 4, 3, 2
	p.Net.Loss, p.Net.Dup = 0, 0
	p.Keys = 6 + x.IntN(6)
	p.Client.Mix = [4]int{1 + x.IntN(4), 1 + x.IntN(4), x.IntN(2), x.IntN(2)}
	p.Client.ReadLevel, p.Client.WriteLevel = net.Quorum, net.Quorum
	r, err := ring.New(1, ring.Virtual([]uint16{1, 2, 3, 4}, node.DefaultConfig(1).Vnodes))
	if err != nil {
		panic(err)
	}
	on := func(key []byte, want ...uint16) bool {
		reps := r.Replicas(key, p.RF)
		for _, id := range want {
			if !slices.Contains(reps, id) {
				return false
			}
		}
		return true
	}
	first := func(ok func(k int) bool) int {
		for k := 0; ; k++ {
			if k == p.Keys {
				p.Keys++ // one more key, which is (a third to a half of keys are)
			}
			if ok(k) {
				return k
			}
		}
	}
	a := first(func(k int) bool { return !on(fmt.Appendf(nil, "k%d", k), 4) })
	b := first(func(k int) bool { return k != a && on(fmt.Appendf(nil, "k%d", k), 1, 4) })
	var token string
	for i := x.Uint64(); token == ""; i++ {
		if t := fmt.Sprintf("%016x", i); on(store.RecordKey([]byte(t)), 1, 4) {
			token = t
		}
	}
	t0 := 12 * time.Second
	ms := func(n int) time.Duration { return time.Duration(n) * time.Millisecond }
	p.Faults = []Fault{{At: t0 + 2*time.Second, Kind: Partition, Side: []int{2, 3}, For: 6 * time.Second}}
	p.Script = []Step{
		{At: t0, Node: 1, Op: StepSet, Key: a, Level: net.All},
		{At: t0 + ms(500), Node: 1, Op: StepSet, Key: b, Level: net.All},
		{At: t0 + ms(2050), Node: 1, Op: StepBatch, Key: a, Also: []int{b}, Token: token},
		{At: t0 + 4*time.Second, Node: 4, Op: StepGet, Key: b, Level: net.Quorum},
		{At: t0 + 5*time.Second, Node: 2, Op: StepGet, Key: a, Level: net.Quorum},
	}
	end := t0 + 14*time.Second
	p.Duration, p.Liveness = end, 10*time.Second
	for _, n := range []int{1, 2, 4} {
		// Late enough that every node sees every other up again.
		p.Script = append(p.Script, Step{At: end + 4*time.Second, Node: n, Op: StepGet, Key: a, Level: net.Quorum})
	}
	return []string{fmt.Sprintf("batch-race: a batch of k%d (on nodes 1-3) and k%d through node 1 as nodes 2 and 3 are cut off, token %s; %d keys, mix %v",
		a, b, token, p.Keys, p.Client.Mix)}
}
